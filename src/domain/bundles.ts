/**
 * Handing out pre-key bundles. The oldest one-time pre-key is taken in the same transaction
 * that reads the bundle, so two concurrent fetches never receive the same key. `takeBundles`
 * builds the /v1 bundle of one key set or of many (a multi-device claim) the same way.
 */
import type { KeySetRecord, PreKey, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { emitEvents, type PendingEvent, preKeyAlert } from './events.ts';
import { findKeySetForRead, requireUsable } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

export const reducedForwardSecrecyWarning =
  'No one-time pre-keys available: forward secrecy is reduced for this session. The user should replenish one-time pre-keys.';

const drainWindowMs = 60_000;
const drainKey = (caller: Caller, targetUserId: string) => `drain:${caller.projectId}:${caller.principal.actor}:${targetUserId}`;

/**
 * Whether the caller may consume `count` more one-time pre-keys of this user now. One API key
 * may take at most `drainLimitPerMinute` keys of one user a minute so that it cannot drain them.
 */
export async function mayConsumePreKey(deps: Deps, caller: Caller, targetUserId: string, count = 1): Promise<boolean> {
  const limit = deps.settings.drainLimitPerMinute;
  if (limit === 0 || caller.principal.kind === 'master') return true;
  const { count: consumed } = await deps.store.counters.hit(drainKey(caller, targetUserId), drainWindowMs, deps.clock.now().getTime(), count);
  return consumed <= limit;
}

export interface PreKeyReservation {
  /** How many one-time pre-keys the caller may take now (at most the number asked for). */
  allowed: number;
  /** Gives back what was reserved and not consumed; call once, after the transaction. */
  settle(consumed: number): Promise<void>;
}

/**
 * The drain limit charged per key, for a claim that may take several: reserves up to `wanted`
 * keys against the caller's budget for this user before the transaction (concurrent claims see
 * each other's reservations, so together they never exceed the limit) and refunds the unused
 * part afterwards, in the same window.
 */
export async function reservePreKeys(deps: Deps, caller: Caller, targetUserId: string, wanted: number): Promise<PreKeyReservation> {
  const limit = deps.settings.drainLimitPerMinute;
  if (limit === 0 || caller.principal.kind === 'master' || wanted === 0) return { allowed: wanted, settle: async () => undefined };
  const key = drainKey(caller, targetUserId);
  const at = deps.clock.now().getTime();
  const reserved = Math.min(wanted, limit);
  const { count } = await deps.store.counters.hit(key, drainWindowMs, at, reserved);
  const allowed = Math.max(0, Math.min(reserved, limit - (count - reserved)));
  return {
    allowed,
    async settle(consumed) {
      const unused = reserved - Math.min(consumed, reserved);
      if (unused > 0) await deps.store.counters.hit(key, drainWindowMs, at, -unused);
    },
  };
}

export interface TakenPreKey {
  oneTimePreKey: PreKey | null;
  remaining: number;
}

/**
 * One EC one-time pre-key from each key set (one statement for many), recorded: audit and alerts.
 * Several keys taken together are one audit entry listing them (`details.keys`): a claim for a
 * hundred devices writes one entry, not a hundred (the audit chain is the claim's main cost).
 */
export async function takePreKeys(deps: Deps, tx: StoreTx, caller: Caller, keySets: KeySetRecord[], now: Date): Promise<TakenPreKey[]> {
  if (keySets.length === 0) return [];
  let taken: Map<number, PreKey>;
  if (keySets.length === 1) {
    const key = await tx.oneTimePreKeys.takeOldest(keySets[0]!.id, 'ec');
    taken = new Map(key ? [[keySets[0]!.id, key]] : []);
  } else {
    taken = await tx.oneTimePreKeys.takeOldestOfEach(keySets.map((keySet) => keySet.id), 'ec');
  }
  const results: TakenPreKey[] = [];
  const consumed: Array<{ deviceId: string; keyId: string; remaining: number }> = [];
  const alerts: PendingEvent[] = [];
  for (const keySet of keySets) {
    const key = taken.get(keySet.id);
    const remaining = key ? keySet.oneTimePreKeyCount - 1 : keySet.oneTimePreKeyCount;
    if (key) {
      deps.observer?.preKeyConsumed('ec');
      consumed.push({ deviceId: keySet.deviceId, keyId: key.keyId, remaining });
      const alert = preKeyAlert(keySet, remaining, deps.settings);
      if (alert) alerts.push(alert);
    }
    results.push({ oneTimePreKey: key ? { keyId: key.keyId, publicKey: key.publicKey } : null, remaining });
  }
  await emitEvents(tx, alerts, now);
  if (consumed.length > 0) {
    const details = keySets.length === 1 ? consumed[0]! : { keys: consumed };
    await appendAudit(tx, caller, now, { action: 'PREKEY_CONSUMED', userId: keySets[0]!.userId, details });
  }
  return results;
}

/** Takes one EC one-time pre-key (unless `consume` is false) and records it: audit and alerts. */
export async function takePreKey(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  keySet: KeySetRecord,
  consume: boolean,
  now: Date,
): Promise<TakenPreKey> {
  if (!consume) return { oneTimePreKey: null, remaining: keySet.oneTimePreKeyCount };
  return (await takePreKeys(deps, tx, caller, [keySet], now))[0]!;
}

/**
 * The /v1 bundles of usable key sets of one user, in order: the first `consumeCount` each consume
 * a one-time pre-key (the rest are past the drain limit). Audited as fetched: one entry per
 * call, listing the devices (`details.devices`) when there are several.
 */
export async function takeBundles(deps: Deps, tx: StoreTx, caller: Caller, keySets: KeySetRecord[], consumeCount: number, now: Date) {
  const taken = await takePreKeys(deps, tx, caller, keySets.slice(0, consumeCount), now);
  const bundles = [];
  const fetched: Array<{ deviceId: string; oneTimePreKeyId: string | null }> = [];
  for (const [index, keySet] of keySets.entries()) {
    const { oneTimePreKey, remaining } = taken[index] ?? { oneTimePreKey: null, remaining: keySet.oneTimePreKeyCount };
    fetched.push({ deviceId: keySet.deviceId, oneTimePreKeyId: oneTimePreKey?.keyId ?? null });
    bundles.push({
      userId: keySet.userId,
      deviceId: keySet.deviceId,
      identityKey: keySet.identityKey,
      signedPreKey: keySet.signedPreKey,
      oneTimePreKey,
      ...(oneTimePreKey === null && keySet.lastResortPreKey && { lastResortPreKey: keySet.lastResortPreKey as SignedKey }),
      remainingOneTimePreKeys: remaining,
      ...(oneTimePreKey === null && { warning: reducedForwardSecrecyWarning }),
    });
  }
  if (fetched.length > 0) {
    const details = fetched.length === 1 ? fetched[0]! : { devices: fetched };
    await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId: keySets[0]!.userId, details });
  }
  return bundles;
}

export type V1Bundle = Awaited<ReturnType<typeof takeBundles>>[number];

export async function fetchBundle(deps: Deps, caller: Caller, userId: string, deviceId?: string) {
  const consume = await mayConsumePreKey(deps, caller, userId);
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: deviceId ?? null } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId, 'v1');
      requireUsable(keySet, deps.settings, now);
      const [bundle] = await takeBundles(deps, tx, caller, [keySet], consume ? 1 : 0, now);
      return bundle!;
    }),
  );
}
