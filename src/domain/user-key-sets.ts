/**
 * Every key set of one user, for operators: each device with its status, one-time pre-key level
 * against the low threshold, and its signed pre-key rotation history. Read-only and not
 * audited, like the list it is reached from (`GET /v1/keys/list`).
 */
import type { Deps } from './deps.ts';
import { notFound } from './errors.ts';
import { keySetFingerprint, visibleStatus } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

/** Rotations shown per device: a device rotating daily for years must not make the answer unbounded. */
export const rotationsShown = 50;

export async function userKeySets(deps: Deps, caller: Caller, userId: string) {
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const keySets = await tx.keySets.listForUser(caller.projectId, userId);
    if (keySets.length === 0) throw notFound(`No keys registered for user ${userId}`);
    const devices = [];
    for (const keySet of keySets) {
      const history = await tx.keySets.signedPreKeyHistory(keySet.id);
      devices.push({
        deviceId: keySet.deviceId,
        deviceName: keySet.deviceName,
        keyFormat: keySet.keyFormat,
        status: visibleStatus(keySet, deps.settings, now),
        statusReason: keySet.statusReason,
        identityKeyFingerprint: keySetFingerprint(keySet),
        oneTimePreKeysRemaining: keySet.oneTimePreKeyCount,
        hasLastResortPreKey: keySet.lastResortPreKey !== null,
        signedPreKeyId: keySet.signedPreKey.keyId,
        signedPreKeyCreatedAt: keySet.signedPreKeyCreatedAt,
        registeredAt: keySet.registeredAt,
        lastRotatedAt: keySet.lastRotatedAt,
        revokedAt: keySet.revokedAt,
        rotationCount: history.length,
        rotations: history
          .map((key) => ({ signedPreKeyId: key.keyId, createdAt: key.createdAt, replacedAt: key.replacedAt }))
          .sort((a, b) => b.replacedAt.localeCompare(a.replacedAt))
          .slice(0, rotationsShown),
      });
    }
    return {
      userId,
      preKeyLowThreshold: deps.settings.preKeyLowThreshold,
      maxStoredPreKeys: deps.settings.maxStoredPreKeys,
      devices,
    };
  });
}
