/**
 * Administration of API keys (SPEC §2). The secret is returned once, by `createApiKey`, and
 * never stored: the store keeps its SHA-256 hash and a short prefix. The master key manages
 * every project; an API key with `apiKeys.manage` manages its own project only, and can hand out
 * only what it holds itself: each granted action must be in its ACL (or it holds `*`), and each
 * granted `userIds` pattern must lie within one of its own patterns (user-patterns.ts decides it
 * exactly: `team_*` may grant `team_*`, `team_a*` and `team_42`, never `*` or `other`). For the same reason such a key may
 * change or delete only keys whose own ACL and patterns it could have granted, and a key it
 * creates without `userIds` gets its own patterns (`["*"]` for the master key and unlimited keys).
 */
import { generateApiKey, newApiKeyUid } from '../crypto/api-key-format.ts';
import type { ApiKeyRecord, StoreTx } from '../store/types.ts';
import { appendAudit, audited, type AuditInput } from './audit.ts';
import { hashToken } from './authentication.ts';
import type { Deps } from './deps.ts';
import { AppError, forbidden, invalid, notFound } from './errors.ts';
import { offsetOf, type PageRequest, paginate } from './pagination.ts';
import type { Action, Caller, Principal } from './principal.ts';
import { patternWithin, requireValidUserIdPatterns } from './user-patterns.ts';

/** What clients see of a key: everything but the secret and its hash. */
export type ApiKeyView = Omit<ApiKeyRecord, 'hash'>;

export function toApiKeyView(key: ApiKeyRecord): ApiKeyView {
  return {
    uid: key.uid,
    prefix: key.prefix,
    projectId: key.projectId,
    description: key.description,
    acl: key.acl,
    userIds: key.userIds,
    expiresAt: key.expiresAt,
    revoked: key.revoked,
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
    lastUsedAt: key.lastUsedAt,
  };
}

/** RFC 3339 instant, unix seconds, or null (never expires). */
export type ExpiryInput = string | number | null;

export interface CreateApiKeyInput {
  projectId: string;
  acl: Action[];
  userIds?: string[];
  description?: string | null;
  expiresAt?: ExpiryInput;
}

export interface UpdateApiKeyInput {
  description?: string | null;
  acl?: Action[];
  userIds?: string[];
  revoked?: boolean;
  /** Immutable: present at all → 400 IMMUTABLE_FIELD. */
  expiresAt?: unknown;
  projectId?: unknown;
}

export interface ListApiKeysInput extends PageRequest {
  projectId?: string;
  search?: string;
}

const immutableFields = ['expiresAt', 'projectId'] as const;

/** The last instant an RFC 3339 date-time (four-digit year) can name. */
const latestExpiry = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function normalizeExpiry(value: ExpiryInput | undefined, now: Date): string | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'number' ? value * 1000 : Date.parse(value);
  if (!Number.isFinite(ms)) throw invalid('expiresAt', 'must be an RFC 3339 date-time, unix seconds or null');
  if (ms <= now.getTime()) throw invalid('expiresAt', 'must be in the future');
  if (ms > latestExpiry) throw invalid('expiresAt', 'must be before the year 10000');
  return new Date(ms).toISOString();
}

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/** The project a caller's request addresses: the master key picks any; an API key only its own. */
function projectScope(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.kind === 'master') return requested;
  if (requested !== undefined && requested !== principal.projectId) {
    throw forbidden('An API key manages only the keys of its own project');
  }
  return principal.projectId;
}

function mayGrant(principal: Principal, acl: readonly string[], userIds: readonly string[]): boolean {
  if (principal.kind === 'master') return true;
  const actionsHeld = principal.acl.includes('*') || acl.every((action) => action !== '*' && principal.acl.includes(action));
  const usersHeld = userIds.every((pattern) => principal.userIds.some((own) => patternWithin(pattern, own)));
  return actionsHeld && usersHeld;
}

function requireGrantable(principal: Principal, acl: readonly string[], userIds: readonly string[]): void {
  if (!mayGrant(principal, acl, userIds)) {
    throw forbidden('A key can grant only the actions and users it holds itself');
  }
}

/** A key the caller may see; another project's key is reported missing, not forbidden. */
async function findManagedKey(tx: StoreTx, principal: Principal, uid: string): Promise<ApiKeyRecord> {
  const key = await tx.apiKeys.get(uid);
  if (!key || (principal.kind !== 'master' && key.projectId !== principal.projectId)) {
    throw notFound(`No API key ${uid}`);
  }
  return key;
}

/** Audit of key administration lives in the project of the key it is about. */
const inProject = (caller: Caller, projectId: string): Caller => ({ ...caller, projectId });

const keyAudit = (action: AuditInput['action'], details: Record<string, unknown>): AuditInput => ({
  action,
  resource: 'API_KEY',
  userId: null,
  details,
});

export async function createApiKey(deps: Deps, caller: Caller, input: CreateApiKeyInput): Promise<ApiKeyView & { key: string }> {
  const { projectId } = input;
  const acl = unique(input.acl);
  // Default `["*"]`, or, for a key limited to some users, its own patterns: what it may grant.
  const userIds = unique(input.userIds ?? caller.principal.userIds);
  requireValidUserIdPatterns(userIds);
  // A refused attempt is recorded where the caller can see it: its own project for an API key.
  const auditCaller = caller.principal.kind === 'master' ? inProject(caller, projectId) : caller;
  const failure = keyAudit('API_KEY_CREATED', { projectId, acl, userIds });
  return audited(deps, auditCaller, failure, () =>
    deps.store.transaction(async (tx) => {
      projectScope(caller.principal, projectId);
      requireGrantable(caller.principal, acl, userIds);
      const now = deps.clock.now();
      const expiresAt = normalizeExpiry(input.expiresAt, now);
      const { key, prefix } = generateApiKey();
      const record: ApiKeyRecord = {
        uid: newApiKeyUid(),
        projectId,
        hash: hashToken(key),
        prefix,
        description: input.description ?? null,
        acl,
        userIds,
        expiresAt,
        revoked: false,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        lastUsedAt: null,
      };
      await tx.apiKeys.insert(record);
      const details = { uid: record.uid, prefix, acl, userIds, expiresAt, description: record.description };
      await appendAudit(tx, auditCaller, now, keyAudit('API_KEY_CREATED', details));
      const { uid, ...view } = toApiKeyView(record);
      return { uid, key, ...view };
    }),
  );
}

export async function listApiKeys(deps: Deps, caller: Caller, input: ListApiKeysInput) {
  const projectId = projectScope(caller.principal, input.projectId);
  return deps.store.transaction(async (tx) => {
    const { items, total } = await tx.apiKeys.list({ projectId, search: input.search, offset: offsetOf(input), limit: input.limit });
    return { data: items.map(toApiKeyView), pagination: paginate(input, total) };
  });
}

export async function getApiKey(deps: Deps, caller: Caller, uid: string): Promise<ApiKeyView> {
  return deps.store.transaction(async (tx) => toApiKeyView(await findManagedKey(tx, caller.principal, uid)));
}

export async function updateApiKey(deps: Deps, caller: Caller, uid: string, input: UpdateApiKeyInput): Promise<ApiKeyView> {
  const immutable = immutableFields.filter((field) => input[field] !== undefined);
  if (immutable.length > 0) {
    throw new AppError(
      'IMMUTABLE_FIELD',
      `${immutable.join(' and ')} cannot be changed; create a new key instead`,
      immutable.map((field) => ({ field, message: 'cannot be changed after creation' })),
    );
  }
  const failure = keyAudit('API_KEY_UPDATED', { uid });
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const key = await findManagedKey(tx, caller.principal, uid);
      requireGrantable(caller.principal, key.acl, key.userIds);
      const changes: Partial<Pick<ApiKeyRecord, 'description' | 'acl' | 'userIds' | 'revoked'>> = {};
      if (input.description !== undefined) changes.description = input.description;
      if (input.acl !== undefined) changes.acl = unique(input.acl);
      if (input.userIds !== undefined) changes.userIds = unique(input.userIds);
      if (changes.userIds) requireValidUserIdPatterns(changes.userIds);
      if (input.revoked !== undefined) changes.revoked = input.revoked;
      requireGrantable(caller.principal, changes.acl ?? [], changes.userIds ?? []);
      if (Object.keys(changes).length === 0) return toApiKeyView(key);
      const now = deps.clock.now();
      await tx.apiKeys.update(uid, { ...changes, updatedAt: now.toISOString() });
      await appendAudit(tx, inProject(caller, key.projectId), now, keyAudit('API_KEY_UPDATED', { uid, prefix: key.prefix, changes }));
      return toApiKeyView({ ...key, ...changes, updatedAt: now.toISOString() });
    }),
  );
}

export async function deleteApiKey(deps: Deps, caller: Caller, uid: string): Promise<void> {
  const failure = keyAudit('API_KEY_DELETED', { uid });
  await audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const key = await findManagedKey(tx, caller.principal, uid);
      requireGrantable(caller.principal, key.acl, key.userIds);
      await tx.apiKeys.delete(uid);
      const details = { uid, prefix: key.prefix, acl: key.acl, userIds: key.userIds };
      await appendAudit(tx, inProject(caller, key.projectId), deps.clock.now(), keyAudit('API_KEY_DELETED', details));
    }),
  );
}
