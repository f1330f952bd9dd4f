/**
 * What the caller's own credential may do: its project, actions and user patterns. Clients (the
 * operator console first) use it to offer only what the key allows; it reveals nothing the
 * key's holder could not learn by trying, and never the secret or its hash.
 */
import type { Deps } from './deps.ts';
import type { Caller } from './principal.ts';

export interface CallerDescription {
  kind: 'master' | 'apiKey';
  /** The API key's uid, or `master`. */
  uid: string;
  projectId: string;
  acl: string[];
  userIds: string[];
  prefix: string | null;
  description: string | null;
  expiresAt: string | null;
  /** Limits that apply to this key's calls (0: none); the master key is not rate limited. */
  limits: { preKeyLowThreshold: number; rateLimitKeys: number; rateLimitBundle: number; drainLimitPerMinute: number };
}

export async function describeCaller(deps: Deps, caller: Caller, rateLimits: { keys: number; bundle: number }): Promise<CallerDescription> {
  const { principal } = caller;
  const master = principal.kind === 'master';
  const limits = {
    preKeyLowThreshold: deps.settings.preKeyLowThreshold,
    rateLimitKeys: master ? 0 : rateLimits.keys,
    rateLimitBundle: master ? 0 : rateLimits.bundle,
    drainLimitPerMinute: master ? 0 : deps.settings.drainLimitPerMinute,
  };
  const base = { kind: principal.kind, uid: principal.actor, projectId: caller.projectId, acl: [...principal.acl], userIds: [...principal.userIds], limits };
  if (principal.kind === 'master') return { ...base, prefix: null, description: null, expiresAt: null };
  const record = await deps.store.transaction((tx) => tx.apiKeys.get(principal.actor));
  return { ...base, prefix: record?.prefix ?? null, description: record?.description ?? null, expiresAt: record?.expiresAt ?? null };
}
