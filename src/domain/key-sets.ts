/** The life of a key set: register, rotate and replenish, revoke, suspend. */
import type { KeySetRecord, PreKey, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { emitEvent } from './events.ts';
import { recordDeviceListChange, v1KeySetsOf } from './device-lists.ts';
import { defaultDeviceId, findKeySetForWrite, keySetFingerprint, visibleStatus } from './key-set-lookup.ts';
import { checkIdentityKey, checkPreKeys, checkSignedPreKey } from './key-validation.ts';
import { type Caller, requireActAs } from './principal.ts';
import { archiveSignedPreKey, requireDeviceRoom } from './quotas.ts';
import { logKeySet } from './transparency/leaves.ts';

export interface RegisterInput {
  userId: string;
  identityKey: string;
  signedPreKey: SignedKey;
  oneTimePreKeys: PreKey[];
  lastResortPreKey?: SignedKey;
  deviceId?: string;
  deviceName?: string;
}

export async function registerKeys(deps: Deps, caller: Caller, input: RegisterInput) {
  requireActAs(caller.principal, input.userId);
  const deviceId = input.deviceId ?? defaultDeviceId;
  checkIdentityKey(input.identityKey);
  checkPreKeys(input.oneTimePreKeys, 'oneTimePreKeys');
  await checkSignedPreKey(input.signedPreKey, input.identityKey, 'signedPreKey');
  if (input.lastResortPreKey) await checkSignedPreKey(input.lastResortPreKey, input.identityKey, 'lastResortPreKey');

  const failure = { action: 'KEYS_REGISTERED', userId: input.userId, details: { deviceId } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const existing = await tx.keySets.listForUser(caller.projectId, input.userId);
      if (existing.some((keySet) => keySet.deviceId === deviceId && keySet.status !== 'revoked')) {
        throw new AppError('CONFLICT', 'Active keys already exist for this user');
      }
      requireDeviceRoom(deps, input.userId, existing);
      const keySet = await tx.keySets.insert({
        keyFormat: 'v1',
        projectId: caller.projectId,
        userId: input.userId,
        deviceId,
        deviceName: input.deviceName ?? null,
        registrationId: null,
        identityKey: input.identityKey,
        signedPreKey: input.signedPreKey,
        signedPreKeyCreatedAt: now.toISOString(),
        lastResortPreKey: input.lastResortPreKey ?? null,
        pqLastResortPreKey: null,
        registeredAt: now.toISOString(),
      });
      await tx.oneTimePreKeys.insertMany(keySet.id, 'ec', input.oneTimePreKeys, now.toISOString());
      const v1KeySets = existing.filter((each) => each.keyFormat === 'v1');
      const listChange = await recordDeviceListChange(deps, tx, caller.projectId, input.userId, v1KeySets, { added: [deviceId] }, now);
      await logKeySet(tx, deps.transparency !== undefined, keySet, 'key-set.registered', now);
      const identityKeyFingerprint = keySetFingerprint({ keyFormat: 'v1', identityKey: input.identityKey });
      const details = { deviceId, signedPreKeyId: input.signedPreKey.keyId, oneTimePreKeysCount: input.oneTimePreKeys.length };
      await appendAudit(tx, caller, now, { action: 'KEYS_REGISTERED', userId: input.userId, details });
      await emitEvent(tx, caller.projectId, input.userId, 'keys.registered', { deviceId, identityKeyFingerprint }, now);
      await listChange.announce();
      return {
        userId: input.userId,
        deviceId,
        identityKeyFingerprint,
        signedPreKeyId: input.signedPreKey.keyId,
        oneTimePreKeysCount: input.oneTimePreKeys.length,
        status: 'active' as const,
        registeredAt: keySet.registeredAt,
      };
    }),
  );
}

export interface RotateInput {
  userId: string;
  deviceId?: string;
  newSignedPreKey?: SignedKey;
  newOneTimePreKeys?: PreKey[];
  newLastResortPreKey?: SignedKey;
}

/** Adds one-time pre-keys within the per-key-set cap; key ids must be new to the key set. */
export async function addOneTimePreKeys(deps: Deps, tx: StoreTx, keySet: KeySetRecord, keys: PreKey[], field: string): Promise<number> {
  const taken = await tx.oneTimePreKeys.existingKeyIds(keySet.id, 'ec', keys.map((key) => key.keyId));
  if (taken.length > 0) throw new AppError('CONFLICT', `One-time pre-key ids already stored: ${taken.join(', ')}`);
  const stored = keySet.oneTimePreKeyCount; // the stored EC count, read in this transaction
  const cap = deps.settings.maxStoredPreKeys;
  if (stored + keys.length > cap) {
    throw new AppError('VALIDATION_ERROR', `A key set stores at most ${cap} one-time pre-keys (${stored} stored)`, [
      { field, message: `would exceed ${cap} stored one-time pre-keys` },
    ]);
  }
  await tx.oneTimePreKeys.insertMany(keySet.id, 'ec', keys, deps.clock.now().toISOString());
  return stored + keys.length;
}

export async function rotateKeys(deps: Deps, caller: Caller, input: RotateInput) {
  requireActAs(caller.principal, input.userId);
  const newPreKeys = input.newOneTimePreKeys ?? [];
  if (!input.newSignedPreKey && newPreKeys.length === 0 && !input.newLastResortPreKey) {
    throw new AppError('VALIDATION_ERROR', 'Nothing to rotate: send newSignedPreKey, newOneTimePreKeys or newLastResortPreKey', [
      { field: 'newSignedPreKey', message: 'one of newSignedPreKey, newOneTimePreKeys, newLastResortPreKey is required' },
    ]);
  }
  checkPreKeys(newPreKeys, 'newOneTimePreKeys');

  const failure = { action: 'KEYS_ROTATED', userId: input.userId, details: { deviceId: input.deviceId ?? null } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const at = now.toISOString();
      const keySet = await findKeySetForWrite(tx, caller.projectId, input.userId, input.deviceId, 'v1');
      if (keySet.status === 'suspended') throw new AppError('KEYS_SUSPENDED', `The keys of user ${input.userId} are suspended`);
      const revives = input.newSignedPreKey !== undefined && visibleStatus(keySet, deps.settings, now) === 'expired';
      const spk = input.newSignedPreKey;
      if (spk) await checkSignedPreKey(spk, keySet.identityKey, 'newSignedPreKey');
      if (input.newLastResortPreKey) await checkSignedPreKey(input.newLastResortPreKey, keySet.identityKey, 'newLastResortPreKey');
      if (spk) {
        const history = await tx.keySets.signedPreKeyHistory(keySet.id);
        if (spk.keyId === keySet.signedPreKey.keyId || history.some((old) => old.keyId === spk.keyId)) {
          throw new AppError('CONFLICT', `Signed pre-key id ${spk.keyId} was already used by this key set`);
        }
        await archiveSignedPreKey(deps, tx, keySet, at);
      }
      const total = newPreKeys.length > 0
        ? await addOneTimePreKeys(deps, tx, keySet, newPreKeys, 'newOneTimePreKeys')
        : keySet.oneTimePreKeyCount;
      await tx.keySets.update(keySet.id, {
        ...(spk && { signedPreKey: spk, signedPreKeyCreatedAt: at, lastRotatedAt: at }),
        ...(input.newLastResortPreKey && { lastResortPreKey: input.newLastResortPreKey }),
      });

      const { userId, deviceId } = keySet;
      const listChange = revives
        ? await recordDeviceListChange(deps, tx, caller.projectId, userId, await v1KeySetsOf(tx, caller.projectId, userId), { changed: [deviceId] }, now)
        : undefined;
      if (spk || input.newLastResortPreKey) {
        const rotated = { ...keySet, signedPreKey: spk ?? keySet.signedPreKey, lastResortPreKey: input.newLastResortPreKey ?? keySet.lastResortPreKey };
        await logKeySet(tx, deps.transparency !== undefined, rotated, 'key-set.rotated', now);
        const details = { deviceId, newSignedPreKeyId: spk?.keyId ?? null, oneTimePreKeysAdded: newPreKeys.length };
        await appendAudit(tx, caller, now, { action: 'KEYS_ROTATED', userId, details });
        await emitEvent(tx, caller.projectId, userId, 'keys.rotated', { deviceId, signedPreKeyId: spk?.keyId ?? keySet.signedPreKey.keyId }, now);
      }
      if (newPreKeys.length > 0) {
        const details = { deviceId, added: newPreKeys.length, remaining: total };
        await appendAudit(tx, caller, now, { action: 'PREKEYS_REPLENISHED', userId, details });
        await emitEvent(tx, caller.projectId, userId, 'prekeys.replenished', details, now);
      }
      await listChange?.announce();
      return {
        signedPreKeyRotated: spk !== undefined,
        newSignedPreKeyId: spk?.keyId ?? null,
        oneTimePreKeysAdded: newPreKeys.length,
        totalOneTimePreKeysAvailable: total,
        rotatedAt: at,
      };
    }),
  );
}
