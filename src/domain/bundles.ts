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
import { leafOf, withTransparency } from './transparency/answers.ts';

export const reducedForwardSecrecyWarning =
  'No one-time pre-keys available: forward secrecy is reduced for this session. The user should replenish one-time pre-keys.';

/**
 * Whether the caller may consume another one-time pre-key of this user now. One API key may
 * take at most `drainLimitPerMinute` keys of one user a minute so that it cannot drain them.
 */
export async function mayConsumePreKey(deps: Deps, caller: Caller, targetUserId: string): Promise<boolean> {
  const limit = deps.settings.drainLimitPerMinute;
  if (limit === 0 || caller.principal.kind === 'master') return true;
  const key = `drain:${caller.projectId}:${caller.principal.actor}:${targetUserId}`;
  const { count } = await deps.store.counters.hit(key, 60_000, deps.clock.now().getTime());
  return count <= limit;
}

export interface TakenPreKey {
  oneTimePreKey: PreKey | null;
  remaining: number;
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
  const taken = consume ? await tx.oneTimePreKeys.takeOldest(keySet.id, 'ec') : undefined;
  const remaining = taken ? keySet.oneTimePreKeyCount - 1 : keySet.oneTimePreKeyCount;
  if (taken) {
    deps.observer?.preKeyConsumed('ec');
    const details = { deviceId: keySet.deviceId, keyId: taken.keyId, remaining };
    await appendAudit(tx, caller, now, { action: 'PREKEY_CONSUMED', userId: keySet.userId, details });
    await emitPreKeyAlerts(tx, keySet, remaining, deps.settings, now);
  }
  return { oneTimePreKey: taken ? { keyId: taken.keyId, publicKey: taken.publicKey } : null, remaining };
}

export async function fetchBundle(deps: Deps, caller: Caller, userId: string, deviceId?: string) {
  const consume = await mayConsumePreKey(deps, caller, userId);
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: deviceId ?? null } } as const;
  const { bundle, leaf } = await audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId, 'v1');
      requireUsable(keySet, deps.settings, now);
      const { oneTimePreKey, remaining } = await takePreKey(deps, tx, caller, keySet, consume, now);
      const details = { deviceId: keySet.deviceId, oneTimePreKeyId: oneTimePreKey?.keyId ?? null };
      await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId, details });
      const bundle = {
        userId,
        deviceId: keySet.deviceId,
        identityKey: keySet.identityKey,
        signedPreKey: keySet.signedPreKey,
        oneTimePreKey,
        ...(oneTimePreKey === null && keySet.lastResortPreKey && { lastResortPreKey: keySet.lastResortPreKey as SignedKey }),
        remainingOneTimePreKeys: remaining,
        ...(oneTimePreKey === null && { warning: reducedForwardSecrecyWarning }),
      };
      return { bundle, leaf: await leafOf(deps, tx, keySet, now) };
    }),
  );
  return withTransparency(deps, caller.projectId, bundle, leaf);
}
