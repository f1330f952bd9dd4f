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
import { leafOf, withTransparency } from './transparency/answers.ts';

export const reducedForwardSecrecyWarning =
  'No one-time pre-keys available: forward secrecy is reduced for this session. The user should replenish one-time pre-keys.';

const drainWindowMs = 60_000;
const drainCounter = (caller: Caller, targetUserId: string) => `drain:${caller.projectId}:${caller.principal.actor}:${targetUserId}`;

/**
 * How many of `count` one-time pre-keys of this user the caller may consume now. One API key may
 * take at most `drainLimitPerMinute` keys of one user a minute so that it cannot drain them; every
 * key consumed counts (a `/v2` fetch of every device takes an EC and a Kyber key from each). The
 * granted keys are charged up front; give back what the request did not consume with
 * `returnUnusedPreKeys` (or use `withPreKeyBudget`).
 */
export async function mayConsumePreKey(deps: Deps, caller: Caller, targetUserId: string, count = 1): Promise<number> {
  const limit = deps.settings.drainLimitPerMinute;
  if (limit === 0 || caller.principal.kind === 'master') return count;
  const asked = Math.min(count, limit); // never charge more than could be granted
  if (asked <= 0) return 0;
  const { count: charged } = await deps.store.counters.hit(drainCounter(caller, targetUserId), drainWindowMs, deps.clock.now().getTime(), asked);
  const granted = Math.max(0, Math.min(asked, limit - (charged - asked)));
  // Refused keys are not consumed: only the granted ones stay charged.
  if (granted < asked) await returnUnusedPreKeys(deps, caller, targetUserId, asked - granted);
  return granted;
}

/** Gives back granted keys a request did not consume (none left, a failed transaction). */
export async function returnUnusedPreKeys(deps: Deps, caller: Caller, targetUserId: string, unused: number): Promise<void> {
  if (unused <= 0 || deps.settings.drainLimitPerMinute === 0 || caller.principal.kind === 'master') return;
  await deps.store.counters.hit(drainCounter(caller, targetUserId), drainWindowMs, deps.clock.now().getTime(), -unused);
}

/** The one-time pre-keys one request may still consume; a transaction body makes a fresh one per attempt. */
export class PreKeyBudget {
  consumed = 0;
  constructor(readonly granted: number) {}

  /** Whether one more key may be taken; call `spend` once it was. */
  get available(): boolean {
    return this.consumed < this.granted;
  }

  /** How many more keys may be taken. */
  get remaining(): number {
    return this.granted - this.consumed;
  }

  spend(keys = 1): void {
    this.consumed += keys;
  }
}

/**
 * Runs `operation` with up to `count` keys granted by the drain limit; keys it did not consume are
 * given back, whether it succeeded or failed. `operation` may run its body several times (retried
 * transactions): the budget it uses is the one of its last attempt.
 */
export async function withPreKeyBudget<T>(
  deps: Deps,
  caller: Caller,
  targetUserId: string,
  count: number,
  operation: (newBudget: () => PreKeyBudget) => Promise<T>,
): Promise<T> {
  const granted = await mayConsumePreKey(deps, caller, targetUserId, count);
  let budget: PreKeyBudget | undefined;
  const newBudget = () => (budget = new PreKeyBudget(granted));
  let succeeded = false;
  try {
    const result = await operation(newBudget);
    succeeded = true;
    return result;
  } finally {
    await returnUnusedPreKeys(deps, caller, targetUserId, granted - (succeeded ? (budget?.consumed ?? 0) : 0));
  }
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

/** Takes one EC one-time pre-key (if the budget allows) and records it: audit and alerts. */
export async function takePreKey(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  keySet: KeySetRecord,
  budget: PreKeyBudget,
  now: Date,
): Promise<TakenPreKey> {
  if (!budget.available) return { oneTimePreKey: null, remaining: keySet.oneTimePreKeyCount };
  const [taken] = await takePreKeys(deps, tx, caller, [keySet], now);
  if (taken!.oneTimePreKey) budget.spend();
  return taken!;
}

/**
 * The /v1 bundles of usable key sets of one user, in order: as many as the budget allows each
 * consume a one-time pre-key (the rest are past the drain limit). Audited as fetched: one entry per
 * call, listing the devices (`details.devices`) when there are several.
 */
export async function takeBundles(deps: Deps, tx: StoreTx, caller: Caller, keySets: KeySetRecord[], budget: PreKeyBudget, now: Date) {
  const taken = await takePreKeys(deps, tx, caller, keySets.slice(0, Math.max(0, budget.remaining)), now);
  budget.spend(taken.filter((key) => key.oneTimePreKey !== null).length);
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
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: deviceId ?? null } } as const;
  const { bundle, leaf } = await withPreKeyBudget(deps, caller, userId, 1, (newBudget) => audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const budget = newBudget();
      const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId, 'v1');
      requireUsable(keySet, deps.settings, now);
      const [bundle] = await takeBundles(deps, tx, caller, [keySet], budget, now);
      return { bundle: bundle!, leaf: await leafOf(deps, tx, keySet, now) };
    }),
  ));
  return withTransparency(deps, caller.projectId, bundle, leaf);
}
