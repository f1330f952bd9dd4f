/**
 * Refusals of requests in the audit log, without letting the log be flooded. A refusal of an
 * authenticated caller (validation error, bad signature, act-as or permission refusal…) gets its
 * own FAILURE entry with the error code — never the body or key material — up to a budget per key
 * a minute. Past the budget, and for every 401 and 429 (which an attacker can cause at will), they
 * are only counted, in memory with bounded maps, and written as one `REFUSALS_SUMMARY` entry per
 * project by `flush` (every minute in the server).
 */
import type { AppError } from './errors.ts';
import { appendAudit, type AuditAction, wasAudited } from './audit.ts';
import type { Deps } from './deps.ts';
import type { Caller } from './principal.ts';

/** Individual refusal entries one key may cause a minute; the rest are counted. */
export const refusalsAuditedPerMinute = 60;
/** Bounds of the in-memory counts (projects, and keys per project); overflow is counted as `other`. */
const maxProjects = 1000;
const maxActorsPerProject = 100;
const overflowActor = 'other';

export interface RefusedRequest {
  /** `POST /v1/keys/register`: method and route pattern, never the concrete path. */
  route: string;
  /** The user the request named, from already validated input only. */
  userId: string | null;
}

interface ProjectCounts {
  unauthorized: Map<string, number>;
  rateLimited: Map<string, number>;
  notAudited: Map<string, Map<string, number>>;
}

/** What each route does, so that its refusals are filed under the action they refused. */
const routeActions: Record<string, { action: AuditAction; resource: string }> = {
  'POST /v1/keys/register': { action: 'KEYS_REGISTERED', resource: 'USER_KEY' },
  'POST /v1/keys/rotate': { action: 'KEYS_ROTATED', resource: 'USER_KEY' },
  'POST /v1/keys/revoke': { action: 'KEYS_REVOKED', resource: 'USER_KEY' },
  'POST /v1/keys/suspend': { action: 'KEYS_SUSPENDED', resource: 'USER_KEY' },
  'POST /v1/keys/unsuspend': { action: 'KEYS_UNSUSPENDED', resource: 'USER_KEY' },
  'GET /v1/keys/bundle/:userId': { action: 'BUNDLE_FETCHED', resource: 'USER_KEY' },
  'GET /v1/keys/verify/:userId': { action: 'KEY_VERIFIED', resource: 'USER_KEY' },
  'POST /v1/keys/backup': { action: 'BACKUP_CREATED', resource: 'KEY_BACKUP' },
  'POST /v1/keys/recover': { action: 'BACKUP_RECOVERED', resource: 'KEY_BACKUP' },
  'POST /v1/keys/shared-secret': { action: 'SHARED_SECRET_INITIATED', resource: 'SESSION' },
  'POST /v1/keys/shared-secret/:sessionId/complete': { action: 'SHARED_SECRET_COMPLETED', resource: 'SESSION' },
  'POST /v1/api-keys': { action: 'API_KEY_CREATED', resource: 'API_KEY' },
  'PATCH /v1/api-keys/:uid': { action: 'API_KEY_UPDATED', resource: 'API_KEY' },
  'PUT /v1/api-keys/:uid': { action: 'API_KEY_UPDATED', resource: 'API_KEY' },
  'DELETE /v1/api-keys/:uid': { action: 'API_KEY_DELETED', resource: 'API_KEY' },
  'POST /v1/public-keys': { action: 'PUBLIC_KEY_ADDED', resource: 'PUBLIC_KEY' },
  'POST /v1/public-keys/generate': { action: 'PUBLIC_KEY_GENERATED', resource: 'PUBLIC_KEY' },
  'DELETE /v1/public-keys/:id': { action: 'PUBLIC_KEY_DELETED', resource: 'PUBLIC_KEY' },
  'PUT /v2/keys': { action: 'KEYS_REGISTERED', resource: 'USER_KEY' },
  'GET /v2/keys/:identifier/:deviceId': { action: 'BUNDLE_FETCHED', resource: 'USER_KEY' },
};

const bump = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);

export interface RefusalObserver {
  refused(errorCode: string): void;
}

export class RefusalLog {
  private counts = new Map<string, ProjectCounts>();
  /** Individual entries written this minute, per project and key. */
  private budgets = new Map<string, number>();
  private budgetWindow = 0;
  /** 401s whose token names no known key: no project to file them under (metrics and a log line). */
  private unattributed = 0;

  constructor(
    private readonly deps: Deps,
    private readonly observer?: RefusalObserver,
    private readonly warn: (message: string, fields: Record<string, unknown>) => void = () => undefined,
  ) {}

  /** A 401: `projectId` is known when the token was a revoked or expired key of that project. */
  unauthorized(projectId: string | undefined, actor: string | undefined): void {
    this.observer?.refused('UNAUTHORIZED');
    if (projectId === undefined || actor === undefined) {
      this.unattributed++;
      return;
    }
    const counts = this.projectCounts(projectId);
    if (counts) bump(counts.unauthorized, this.actorKey(counts.unauthorized, actor));
  }

  /**
   * A refusal of an authenticated caller: written as its own FAILURE entry (its own
   * transaction), or only counted for 429s, for errors the domain audited itself, and past the budget.
   */
  async refused(caller: Caller, error: AppError, request: RefusedRequest): Promise<void> {
    this.observer?.refused(error.code);
    if (wasAudited(error)) return;
    const counts = this.projectCounts(caller.projectId);
    const actor = caller.principal.actor;
    if (error.code === 'RATE_LIMITED') {
      if (counts) bump(counts.rateLimited, this.actorKey(counts.rateLimited, actor));
      return;
    }
    if (!this.withinBudget(caller)) {
      if (!counts) return;
      const key = this.actorKey(counts.notAudited, actor);
      let byCode = counts.notAudited.get(key);
      if (!byCode) counts.notAudited.set(key, (byCode = new Map()));
      bump(byCode, error.code);
      return;
    }
    const known = routeActions[request.route];
    const fields = (error.details ?? []).slice(0, 10).map((detail) => detail.field.slice(0, 64));
    const details = { route: request.route, errorCode: error.code, ...(fields.length > 0 && { fields }) };
    await this.deps.store
      .transaction((tx) =>
        appendAudit(tx, caller, this.deps.clock.now(), {
          action: known?.action ?? 'REQUEST_REFUSED',
          resource: known?.resource ?? 'REQUEST',
          userId: request.userId,
          details,
          status: 'FAILURE',
        }),
      )
      .catch(() => undefined); // storage trouble: the answer itself is what matters
  }

  /** Writes one summary entry per project with counts since the last flush, and starts over. */
  async flush(): Promise<void> {
    const counts = this.counts;
    const unattributed = this.unattributed;
    this.counts = new Map();
    this.unattributed = 0;
    if (unattributed > 0) this.warn('requests refused with 401 for unknown credentials', { count: unattributed });
    if (counts.size === 0) return;
    const now = this.deps.clock.now();
    const object = (map: Map<string, number>) => Object.fromEntries(map);
    await this.deps.store.transaction(async (tx) => {
      for (const [projectId, project] of counts) {
        const details = {
          unauthorized: object(project.unauthorized),
          rateLimited: object(project.rateLimited),
          notAudited: Object.fromEntries([...project.notAudited].map(([actor, byCode]) => [actor, object(byCode)])),
        };
        const system: Caller = {
          projectId,
          ipAddress: null,
          principal: { kind: 'master', projectId, actor: 'system', acl: [], userIds: [] },
        };
        await appendAudit(tx, system, now, { action: 'REFUSALS_SUMMARY', resource: 'REQUEST', userId: null, details, status: 'FAILURE' });
      }
    });
  }

  private projectCounts(projectId: string): ProjectCounts | undefined {
    let counts = this.counts.get(projectId);
    if (!counts && this.counts.size < maxProjects) {
      counts = { unauthorized: new Map(), rateLimited: new Map(), notAudited: new Map() };
      this.counts.set(projectId, counts);
    }
    return counts;
  }

  private actorKey(map: Map<string, unknown>, actor: string): string {
    return map.has(actor) || map.size < maxActorsPerProject ? actor : overflowActor;
  }

  private withinBudget(caller: Caller): boolean {
    const now = this.deps.clock.now().getTime();
    const windowStart = now - (now % 60_000);
    if (windowStart !== this.budgetWindow) {
      this.budgetWindow = windowStart;
      this.budgets.clear();
    }
    const key = `${caller.projectId}:${caller.principal.actor}`;
    const used = this.budgets.get(key) ?? 0;
    // Past the bound of keys tracked, nobody gets an individual entry until the minute ends.
    if (used >= refusalsAuditedPerMinute || (used === 0 && this.budgets.size >= maxProjects * maxActorsPerProject)) return false;
    this.budgets.set(key, used + 1);
    return true;
  }
}
