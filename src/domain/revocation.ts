/** Revocation (final) and suspension (by an admin, reversible) of a user's key sets. */
import type { KeySetRecord, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { recordDeviceListChange } from './device-lists.ts';
import { emitEvent } from './events.ts';
import { type Caller, requireActAs } from './principal.ts';
import { logKeySet } from './transparency/leaves.ts';

export interface StatusChangeInput {
  userId: string;
  deviceId?: string;
  reason?: string;
}

/** The user's key sets a status change applies to: one device, or every device when none is named. */
async function targetsOf(tx: StoreTx, caller: Caller, input: StatusChangeInput, accept: (keySet: KeySetRecord) => boolean) {
  const all = await tx.keySets.listForUser(caller.projectId, input.userId);
  const addressed = all.filter((keySet) => input.deviceId === undefined || keySet.deviceId === input.deviceId);
  if (addressed.length === 0) throw new AppError('NOT_FOUND', `No keys registered for user ${input.userId}`);
  const targets = addressed.filter(accept);
  if (targets.length === 0 && addressed.every((keySet) => keySet.status === 'revoked')) {
    throw new AppError('KEYS_REVOKED', `The keys of user ${input.userId} are already revoked`);
  }
  return { all, targets };
}

/** Status changes of /v1 devices move the user's device-list version (before any audit: see recordDeviceListChange). */
async function recordStatusChange(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  userId: string,
  all: KeySetRecord[],
  changedKeySets: KeySetRecord[],
  revoked: boolean,
  now: Date,
) {
  const deviceIds = changedKeySets.filter((keySet) => keySet.keyFormat === 'v1').map((keySet) => keySet.deviceId);
  if (deviceIds.length === 0) return undefined;
  const v1KeySets = all.filter((keySet) => keySet.keyFormat === 'v1');
  return recordDeviceListChange(deps, tx, caller.projectId, userId, v1KeySets, revoked ? { removed: deviceIds } : { changed: deviceIds }, now);
}

export async function revokeKeys(deps: Deps, caller: Caller, input: StatusChangeInput) {
  requireActAs(caller.principal, input.userId);
  const reason = input.reason ?? null;
  const failure = { action: 'KEYS_REVOKED', userId: input.userId, details: { deviceId: input.deviceId ?? null } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const revokedAt = now.toISOString();
      const { all, targets } = await targetsOf(tx, caller, input, (keySet) => keySet.status !== 'revoked');
      const listChange = await recordStatusChange(deps, tx, caller, input.userId, all, targets, true, now);
      for (const keySet of targets) {
        await tx.keySets.update(keySet.id, { status: 'revoked', statusReason: reason, revokedAt });
        // Revoked keys can never be handed out again: drop them rather than keep dead rows.
        await tx.oneTimePreKeys.deleteAll(keySet.id, 'ec');
        await tx.oneTimePreKeys.deleteAll(keySet.id, 'kyber');
        await logKeySet(tx, deps.transparency !== undefined, keySet, 'key-set.revoked', now);
        const { deviceId } = keySet;
        await appendAudit(tx, caller, now, { action: 'KEYS_REVOKED', userId: input.userId, details: { deviceId, reason } });
        await emitEvent(tx, caller.projectId, input.userId, 'keys.revoked', { deviceId, reason, revokedAt }, now);
      }
      for (const peer of await tx.sessions.peersOf(caller.projectId, input.userId, revokedAt)) {
        const data = { peerUserId: input.userId, peerDeviceIds: targets.map((keySet) => keySet.deviceId), revokedAt };
        await emitEvent(tx, caller.projectId, peer, 'peer.keys.revoked', data, now);
      }
      await listChange?.announce();
      return {
        userId: input.userId,
        status: 'revoked' as const,
        revokedAt,
        reason,
        deviceIds: targets.map((keySet) => keySet.deviceId),
      };
    }),
  );
}

/** Suspending an already suspended key set (or unsuspending an active one) changes nothing and succeeds. */
async function changeSuspension(deps: Deps, caller: Caller, input: StatusChangeInput, suspend: boolean) {
  requireActAs(caller.principal, input.userId);
  const action = suspend ? 'KEYS_SUSPENDED' : 'KEYS_UNSUSPENDED';
  const failure = { action, userId: input.userId, details: { deviceId: input.deviceId ?? null } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const { all, targets } = await targetsOf(tx, caller, input, (keySet) => keySet.status !== 'revoked');
      const changed = targets.filter((keySet) => (keySet.status === 'suspended') !== suspend);
      const listChange = await recordStatusChange(deps, tx, caller, input.userId, all, changed, false, now);
      for (const keySet of changed) {
        await tx.keySets.update(keySet.id, { status: suspend ? 'suspended' : 'active', statusReason: input.reason ?? null });
        const details = { deviceId: keySet.deviceId, reason: input.reason ?? null };
        await appendAudit(tx, caller, now, { action, userId: input.userId, details });
      }
      await listChange?.announce();
      return {
        userId: input.userId,
        status: suspend ? ('suspended' as const) : ('active' as const),
        deviceIds: targets.map((keySet) => keySet.deviceId),
        changedAt: now.toISOString(),
      };
    }),
  );
}

export const suspendKeys = (deps: Deps, caller: Caller, input: StatusChangeInput) => changeSuspension(deps, caller, input, true);
export const unsuspendKeys = (deps: Deps, caller: Caller, input: StatusChangeInput) => changeSuspension(deps, caller, input, false);
