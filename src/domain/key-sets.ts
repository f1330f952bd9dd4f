/** The life of a key set: register, rotate and replenish, revoke, suspend. */
import type { KeySetRecord, PreKey, PreKeyKind, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { emitEvent } from './events.ts';
import { recordDeviceListChange, v1KeySetsOf } from './device-lists.ts';
import { defaultDeviceId, findKeySetForWrite, keySetFingerprint, visibleStatus } from './key-set-lookup.ts';
import { checkIdentityKey, checkPqPreKeys, checkPreKeys, checkSignedPreKey } from './key-validation.ts';
import { type Caller, requireActAs } from './principal.ts';
import { archiveSignedPreKey, requireDeviceRoom } from './quotas.ts';
import { logKeySet } from './transparency/leaves.ts';

export interface RegisterInput {
  userId: string;
  identityKey: string;
  signedPreKey: SignedKey;
  oneTimePreKeys: PreKey[];
  lastResortPreKey?: SignedKey;
  /** ML-KEM-1024 one-time pre-keys, each signed (key-validation.ts checkPqPreKeys). */
  pqOneTimePreKeys?: SignedKey[];
  pqLastResortPreKey?: SignedKey;
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
  const pqPreKeys = input.pqOneTimePreKeys ?? [];
  await checkPqPreKeys(pqPreKeys, input.identityKey, 'pqOneTimePreKeys');
  if (input.pqLastResortPreKey) await checkPqPreKeys([input.pqLastResortPreKey], input.identityKey, 'pqLastResortPreKey', true);

  const failure = { action: 'KEYS_REGISTERED', userId: input.userId, details: { deviceId } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      await tx.keySets.lockUser(caller.projectId, input.userId); // first: the device cap holds until the insert
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
        pqLastResortPreKey: input.pqLastResortPreKey ?? null,
        registeredAt: now.toISOString(),
      });
      await tx.oneTimePreKeys.insertMany(keySet.id, 'ec', input.oneTimePreKeys, now.toISOString());
      if (pqPreKeys.length > 0) await tx.oneTimePreKeys.insertMany(keySet.id, 'kyber', pqPreKeys, now.toISOString());
      const v1KeySets = existing.filter((each) => each.keyFormat === 'v1');
      const listChange = await recordDeviceListChange(deps, tx, caller.projectId, input.userId, v1KeySets, { added: [deviceId] }, now);
      await logKeySet(tx, deps.transparency !== undefined, keySet, 'key-set.registered', now);
      const identityKeyFingerprint = keySetFingerprint({ keyFormat: 'v1', identityKey: input.identityKey });
      const details = {
        deviceId,
        signedPreKeyId: input.signedPreKey.keyId,
        oneTimePreKeysCount: input.oneTimePreKeys.length,
        ...((pqPreKeys.length > 0 || input.pqLastResortPreKey) && {
          pqOneTimePreKeysCount: pqPreKeys.length,
          pqLastResortPreKeyId: input.pqLastResortPreKey?.keyId ?? null,
        }),
      };
      await appendAudit(tx, caller, now, { action: 'KEYS_REGISTERED', userId: input.userId, details });
      await emitEvent(tx, caller.projectId, input.userId, 'keys.registered', { deviceId, identityKeyFingerprint }, now);
      await listChange.announce();
      return {
        userId: input.userId,
        deviceId,
        identityKeyFingerprint,
        signedPreKeyId: input.signedPreKey.keyId,
        oneTimePreKeysCount: input.oneTimePreKeys.length,
        pqOneTimePreKeysCount: pqPreKeys.length,
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
  newPqOneTimePreKeys?: SignedKey[];
  newPqLastResortPreKey?: SignedKey;
}

const preKeyNames: Record<PreKeyKind, string> = { ec: 'one-time pre-keys', kyber: 'post-quantum one-time pre-keys' };

/** Adds one-time pre-keys of a kind within the per-key-set cap (for each kind); key ids must be new to the key set. */
export async function addOneTimePreKeys(
  deps: Deps,
  tx: StoreTx,
  keySet: KeySetRecord,
  keys: Array<PreKey & { signature?: string }>,
  field: string,
  kind: PreKeyKind = 'ec',
): Promise<number> {
  const name = preKeyNames[kind];
  const taken = await tx.oneTimePreKeys.existingKeyIds(
    keySet.id,
    kind,
    keys.map((key) => key.keyId),
  );
  if (taken.length > 0) throw new AppError('CONFLICT', `${name[0]!.toUpperCase()}${name.slice(1, -1)} ids already stored: ${taken.join(', ')}`);
  const stored = kind === 'ec' ? keySet.oneTimePreKeyCount : keySet.pqOneTimePreKeyCount; // read in this transaction
  const cap = deps.settings.maxStoredPreKeys;
  if (stored + keys.length > cap) {
    throw new AppError('VALIDATION_ERROR', `A key set stores at most ${cap} ${name} (${stored} stored)`, [
      { field, message: `would exceed ${cap} stored ${name}` },
    ]);
  }
  await tx.oneTimePreKeys.insertMany(keySet.id, kind, keys, deps.clock.now().toISOString());
  return stored + keys.length;
}

/** The identity key PQ pre-keys are checked against, read before the write transaction (their signatures cost ~0.1 ms each). */
async function verifiedPqKeys(deps: Deps, caller: Caller, input: RotateInput): Promise<string | undefined> {
  if (!input.newPqOneTimePreKeys?.length && !input.newPqLastResortPreKey) return undefined;
  const keySet = await deps.store.transaction((tx) => findKeySetForWrite(tx, caller.projectId, input.userId, input.deviceId, 'v1'));
  await checkPqPreKeys(input.newPqOneTimePreKeys ?? [], keySet.identityKey, 'newPqOneTimePreKeys');
  if (input.newPqLastResortPreKey) await checkPqPreKeys([input.newPqLastResortPreKey], keySet.identityKey, 'newPqLastResortPreKey', true);
  return keySet.identityKey;
}

export async function rotateKeys(deps: Deps, caller: Caller, input: RotateInput) {
  requireActAs(caller.principal, input.userId);
  const newPreKeys = input.newOneTimePreKeys ?? [];
  const newPqPreKeys = input.newPqOneTimePreKeys ?? [];
  if (!input.newSignedPreKey && newPreKeys.length === 0 && !input.newLastResortPreKey && newPqPreKeys.length === 0 && !input.newPqLastResortPreKey) {
    const fields = 'newSignedPreKey, newOneTimePreKeys, newLastResortPreKey, newPqOneTimePreKeys or newPqLastResortPreKey';
    throw new AppError('VALIDATION_ERROR', `Nothing to rotate: send ${fields}`, [{ field: 'newSignedPreKey', message: `one of ${fields} is required` }]);
  }
  checkPreKeys(newPreKeys, 'newOneTimePreKeys');

  const failure = { action: 'KEYS_ROTATED', userId: input.userId, details: { deviceId: input.deviceId ?? null } } as const;
  return audited(deps, caller, failure, async () => {
    const pqIdentityKey = await verifiedPqKeys(deps, caller, input);
    return deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const at = now.toISOString();
      const keySet = await findKeySetForWrite(tx, caller.projectId, input.userId, input.deviceId, 'v1');
      if (keySet.status === 'suspended') throw new AppError('KEYS_SUSPENDED', `The keys of user ${input.userId} are suspended`);
      if (pqIdentityKey !== undefined && pqIdentityKey !== keySet.identityKey) {
        throw new AppError('CONFLICT', `The keys of user ${input.userId} changed while the post-quantum pre-keys were checked; retry`);
      }
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
      const total = newPreKeys.length > 0 ? await addOneTimePreKeys(deps, tx, keySet, newPreKeys, 'newOneTimePreKeys') : keySet.oneTimePreKeyCount;
      const pqTotal =
        newPqPreKeys.length > 0 ? await addOneTimePreKeys(deps, tx, keySet, newPqPreKeys, 'newPqOneTimePreKeys', 'kyber') : keySet.pqOneTimePreKeyCount;
      await tx.keySets.update(keySet.id, {
        ...(spk && { signedPreKey: spk, signedPreKeyCreatedAt: at, lastRotatedAt: at }),
        ...(input.newLastResortPreKey && { lastResortPreKey: input.newLastResortPreKey }),
        ...(input.newPqLastResortPreKey && { pqLastResortPreKey: input.newPqLastResortPreKey }),
      });

      const { userId, deviceId } = keySet;
      const listChange = revives
        ? await recordDeviceListChange(deps, tx, caller.projectId, userId, await v1KeySetsOf(tx, caller.projectId, userId), { changed: [deviceId] }, now)
        : undefined;
      // The log's leaf covers the identity, signed and EC last-resort keys; ML-KEM keys are signed by the logged identity key.
      if (spk || input.newLastResortPreKey) {
        const rotated = { ...keySet, signedPreKey: spk ?? keySet.signedPreKey, lastResortPreKey: input.newLastResortPreKey ?? keySet.lastResortPreKey };
        await logKeySet(tx, deps.transparency !== undefined, rotated, 'key-set.rotated', now);
      }
      if (spk || input.newLastResortPreKey || input.newPqLastResortPreKey) {
        const details = {
          deviceId,
          newSignedPreKeyId: spk?.keyId ?? null,
          oneTimePreKeysAdded: newPreKeys.length,
          ...(input.newPqLastResortPreKey && { newPqLastResortPreKeyId: input.newPqLastResortPreKey.keyId }),
        };
        await appendAudit(tx, caller, now, { action: 'KEYS_ROTATED', userId, details });
        await emitEvent(tx, caller.projectId, userId, 'keys.rotated', { deviceId, signedPreKeyId: spk?.keyId ?? keySet.signedPreKey.keyId }, now);
      }
      if (newPreKeys.length > 0 || newPqPreKeys.length > 0) {
        const pq = newPqPreKeys.length > 0 ? { pqAdded: newPqPreKeys.length, pqRemaining: pqTotal } : {};
        const details = { deviceId, added: newPreKeys.length, remaining: total, ...pq };
        await appendAudit(tx, caller, now, { action: 'PREKEYS_REPLENISHED', userId, details });
        await emitEvent(tx, caller.projectId, userId, 'prekeys.replenished', details, now);
      }
      await listChange?.announce();
      return {
        signedPreKeyRotated: spk !== undefined,
        newSignedPreKeyId: spk?.keyId ?? null,
        oneTimePreKeysAdded: newPreKeys.length,
        totalOneTimePreKeysAvailable: total,
        pqOneTimePreKeysAdded: newPqPreKeys.length,
        totalPqOneTimePreKeysAvailable: pqTotal,
        rotatedAt: at,
      };
    });
  });
}
