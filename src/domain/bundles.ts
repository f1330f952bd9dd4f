/**
 * Handing out pre-key bundles. The oldest one-time pre-key is taken in the same transaction
 * that reads the bundle, so two concurrent fetches never receive the same key; a `/v1` key set
 * with ML-KEM pre-keys hands out one of those in the same transaction too (else its
 * last-resort ML-KEM key).
 */
import type { KeySetRecord, PreKey, PreKeyKind, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { emitPreKeyAlerts } from './events.ts';
import { findKeySetForRead, requireUsable } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

export const reducedForwardSecrecyWarning =
  'No one-time pre-keys available: forward secrecy is reduced for this session. The user should replenish one-time pre-keys.';

export const reducedPostQuantumWarning =
  'No one-time post-quantum pre-keys available: the last-resort ML-KEM pre-key was handed out. The user should replenish pqOneTimePreKeys.';

/**
 * Whether the caller may consume another one-time pre-key of this kind of this user now. One
 * API key may take at most `drainLimitPerMinute` keys of each kind of one user a minute, so
 * that it cannot drain them (PQ keys have their own window: a fetch takes one of each).
 */
export async function mayConsumePreKey(deps: Deps, caller: Caller, targetUserId: string, kind: PreKeyKind = 'ec'): Promise<boolean> {
  const limit = deps.settings.drainLimitPerMinute;
  if (limit === 0 || caller.principal.kind === 'master') return true;
  const scope = kind === 'ec' ? 'drain' : 'drain-pq';
  const key = `${scope}:${caller.projectId}:${caller.principal.actor}:${targetUserId}`;
  const { count } = await deps.store.counters.hit(key, 60_000, deps.clock.now().getTime());
  return count <= limit;
}

/** Which kinds of one-time pre-key a fetch may consume (`true`: both). */
export type ConsumeAllowance = boolean | { ec: boolean; pq: boolean };

/** The drain-limit decision for both kinds of a `/v1` fetch, checked together. */
export async function mayConsumePreKeys(deps: Deps, caller: Caller, targetUserId: string): Promise<{ ec: boolean; pq: boolean }> {
  const [ec, pq] = await Promise.all([mayConsumePreKey(deps, caller, targetUserId), mayConsumePreKey(deps, caller, targetUserId, 'kyber')]);
  return { ec, pq };
}

/** A `/v1` bundle's ML-KEM pre-key: a one-time one, or the last-resort one (never consumed). */
export interface BundlePqPreKey extends SignedKey {
  lastResort: boolean;
}

export interface TakenPreKey {
  oneTimePreKey: PreKey | null;
  remaining: number;
  /** `/v1` key sets only (Signal's Kyber keys are taken by signal-bundles.ts): null when the key set has no ML-KEM keys. */
  pqPreKey: BundlePqPreKey | null;
  remainingPq: number;
}

/** Records one consumed key: audit entry and low/exhausted alerts. */
async function recordConsumed(deps: Deps, tx: StoreTx, caller: Caller, keySet: KeySetRecord, kind: PreKeyKind, keyId: string, remaining: number, now: Date) {
  deps.observer?.preKeyConsumed(kind);
  const details = { deviceId: keySet.deviceId, keyId, ...(kind === 'kyber' && { kind }), remaining };
  await appendAudit(tx, caller, now, { action: 'PREKEY_CONSUMED', userId: keySet.userId, details });
  await emitPreKeyAlerts(tx, keySet, remaining, deps.settings, now, kind);
}

/**
 * Takes one EC one-time pre-key and, for a `/v1` key set, one ML-KEM one-time pre-key (each
 * unless `consume` forbids it), all in the caller's transaction, and records them. Every `/v1`
 * route that hands out a bundle goes through here.
 */
export async function takePreKey(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  keySet: KeySetRecord,
  consume: ConsumeAllowance,
  now: Date,
): Promise<TakenPreKey> {
  const allowed = typeof consume === 'boolean' ? { ec: consume, pq: consume } : consume;
  const taken = allowed.ec && keySet.oneTimePreKeyCount > 0 ? await tx.oneTimePreKeys.takeOldest(keySet.id, 'ec') : undefined;
  const remaining = taken ? keySet.oneTimePreKeyCount - 1 : keySet.oneTimePreKeyCount;
  if (taken) await recordConsumed(deps, tx, caller, keySet, 'ec', taken.keyId, remaining, now);
  const oneTimePreKey = taken ? { keyId: taken.keyId, publicKey: taken.publicKey } : null;
  if (keySet.keyFormat !== 'v1') return { oneTimePreKey, remaining, pqPreKey: null, remainingPq: keySet.pqOneTimePreKeyCount };

  const pqTaken = allowed.pq && keySet.pqOneTimePreKeyCount > 0 ? await tx.oneTimePreKeys.takeOldest(keySet.id, 'kyber') : undefined;
  const remainingPq = pqTaken ? keySet.pqOneTimePreKeyCount - 1 : keySet.pqOneTimePreKeyCount;
  if (pqTaken) await recordConsumed(deps, tx, caller, keySet, 'kyber', pqTaken.keyId, remainingPq, now);
  const lastResort = keySet.pqLastResortPreKey;
  const pqPreKey: BundlePqPreKey | null = pqTaken
    ? { keyId: pqTaken.keyId, publicKey: pqTaken.publicKey, signature: pqTaken.signature ?? '', lastResort: false }
    : lastResort && { keyId: lastResort.keyId, publicKey: lastResort.publicKey, signature: lastResort.signature ?? '', lastResort: true };
  return { oneTimePreKey, remaining, pqPreKey, remainingPq };
}

/** The keys of a `/v1` bundle after a take: what fetchBundle, shared-secret sessions and device bundles hand out. */
export function v1BundleKeys(keySet: KeySetRecord, taken: TakenPreKey) {
  const { oneTimePreKey, pqPreKey } = taken;
  const warning = oneTimePreKey === null ? reducedForwardSecrecyWarning : pqPreKey?.lastResort ? reducedPostQuantumWarning : undefined;
  return {
    identityKey: keySet.identityKey,
    signedPreKey: keySet.signedPreKey,
    oneTimePreKey,
    ...(oneTimePreKey === null && keySet.lastResortPreKey && { lastResortPreKey: keySet.lastResortPreKey as SignedKey }),
    pqPreKey,
    ...(warning !== undefined && { warning }),
  };
}

export async function fetchBundle(deps: Deps, caller: Caller, userId: string, deviceId?: string) {
  const consume = await mayConsumePreKeys(deps, caller, userId);
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: deviceId ?? null } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId, 'v1');
      requireUsable(keySet, deps.settings, now);
      const taken = await takePreKey(deps, tx, caller, keySet, consume, now);
      const details = {
        deviceId: keySet.deviceId,
        oneTimePreKeyId: taken.oneTimePreKey?.keyId ?? null,
        ...(taken.pqPreKey && { pqPreKeyId: taken.pqPreKey.keyId, pqLastResortServed: taken.pqPreKey.lastResort }),
      };
      await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId, details });
      const { warning, ...keys } = v1BundleKeys(keySet, taken);
      return {
        userId,
        deviceId: keySet.deviceId,
        ...keys,
        remainingOneTimePreKeys: taken.remaining,
        remainingPqOneTimePreKeys: taken.remainingPq,
        ...(warning !== undefined && { warning }),
      };
    }),
  );
}
