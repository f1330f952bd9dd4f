/** Reading key health: verify one user, list the project's key sets. */
import type { KeySetRecord, KeySetSortField, VisibleKeySetStatus } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { expiryCutoff, findKeySetForRead, keySetFingerprint, visibleStatus } from './key-set-lookup.ts';
import { offsetOf, type PageRequest, paginate } from './pagination.ts';
import type { Caller } from './principal.ts';
import { leafOf, withTransparency } from './transparency/answers.ts';

function summary(keySet: KeySetRecord, status: VisibleKeySetStatus) {
  return {
    userId: keySet.userId,
    deviceId: keySet.deviceId,
    identityKeyFingerprint: keySetFingerprint(keySet),
    status,
    oneTimePreKeysRemaining: keySet.oneTimePreKeyCount,
    pqOneTimePreKeysRemaining: keySet.pqOneTimePreKeyCount,
    pqLastResortPreKeyAvailable: keySet.pqLastResortPreKey !== null,
    registeredAt: keySet.registeredAt,
    lastRotatedAt: keySet.lastRotatedAt,
    deviceName: keySet.deviceName,
  };
}

export async function verifyKeys(deps: Deps, caller: Caller, userId: string, deviceId?: string) {
  const failure = { action: 'KEY_VERIFIED', userId, details: { deviceId: deviceId ?? null } } as const;
  const { answer, leaf } = await audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId);
      const status = visibleStatus(keySet, deps.settings, now);
      const isValid = status === 'active';
      await appendAudit(tx, caller, now, { action: 'KEY_VERIFIED', userId, details: { deviceId: keySet.deviceId, status, isValid } });
      const { userId: _userId, ...rest } = summary(keySet, status);
      // Revoked key sets have their revocation leaf; Signal (/v2) key sets are logged but not proved here.
      const leaf = keySet.keyFormat === 'v1' ? await leafOf(deps, tx, keySet, now) : undefined;
      return { answer: { userId, isValid, ...rest }, leaf };
    }),
  );
  return withTransparency(deps, caller.projectId, answer, leaf);
}

export const listSortFields = {
  createdAt: 'registeredAt',
  registeredAt: 'registeredAt',
  lastRotatedAt: 'lastRotatedAt',
  userId: 'userId',
  oneTimePreKeysRemaining: 'oneTimePreKeyCount',
} as const satisfies Record<string, KeySetSortField>;

export interface ListInput extends PageRequest {
  status?: VisibleKeySetStatus;
  userIdPrefix?: string;
  sortBy: keyof typeof listSortFields;
  sortOrder: 'asc' | 'desc';
}

export async function listKeySets(deps: Deps, caller: Caller, input: ListInput) {
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const { items, total } = await tx.keySets.list({
      projectId: caller.projectId,
      status: input.status,
      userIdPrefix: input.userIdPrefix,
      expiredBefore: expiryCutoff(deps.settings, now),
      sortBy: listSortFields[input.sortBy],
      sortOrder: input.sortOrder,
      offset: offsetOf(input),
      limit: input.limit,
    });
    return {
      data: items.map((keySet) => summary(keySet, visibleStatus(keySet, deps.settings, now))),
      pagination: paginate(input, total),
    };
  });
}
