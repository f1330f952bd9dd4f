/**
 * Handing out pre-key bundles. The oldest one-time pre-key is taken in the same transaction
 * that reads the bundle, so two concurrent fetches never receive the same key.
 */
import type { KeySetRecord, PreKey, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { emitPreKeyAlerts } from './events.ts';
import { findKeySetForRead, requireUsable } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

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

  spend(): void {
    this.consumed++;
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

/** Takes one EC one-time pre-key (if the budget allows) and records it: audit and alerts. */
export async function takePreKey(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  keySet: KeySetRecord,
  budget: PreKeyBudget,
  now: Date,
): Promise<TakenPreKey> {
  const taken = budget.available ? await tx.oneTimePreKeys.takeOldest(keySet.id, 'ec') : undefined;
  const remaining = taken ? keySet.oneTimePreKeyCount - 1 : keySet.oneTimePreKeyCount;
  if (taken) {
    budget.spend();
    deps.observer?.preKeyConsumed('ec');
    const details = { deviceId: keySet.deviceId, keyId: taken.keyId, remaining };
    await appendAudit(tx, caller, now, { action: 'PREKEY_CONSUMED', userId: keySet.userId, details });
    await emitPreKeyAlerts(tx, keySet, remaining, deps.settings, now);
  }
  return { oneTimePreKey: taken ? { keyId: taken.keyId, publicKey: taken.publicKey } : null, remaining };
}

export async function fetchBundle(deps: Deps, caller: Caller, userId: string, deviceId?: string) {
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: deviceId ?? null } } as const;
  return withPreKeyBudget(deps, caller, userId, 1, (newBudget) => audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const budget = newBudget();
      const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId, 'v1');
      requireUsable(keySet, deps.settings, now);
      const { oneTimePreKey, remaining } = await takePreKey(deps, tx, caller, keySet, budget, now);
      const details = { deviceId: keySet.deviceId, oneTimePreKeyId: oneTimePreKey?.keyId ?? null };
      await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId, details });
      return {
        userId,
        deviceId: keySet.deviceId,
        identityKey: keySet.identityKey,
        signedPreKey: keySet.signedPreKey,
        oneTimePreKey,
        ...(oneTimePreKey === null && keySet.lastResortPreKey && { lastResortPreKey: keySet.lastResortPreKey as SignedKey }),
        remainingOneTimePreKeys: remaining,
        ...(oneTimePreKey === null && { warning: reducedForwardSecrecyWarning }),
      };
    }),
  ));
}
