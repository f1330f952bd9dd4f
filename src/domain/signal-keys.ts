/**
 * Signal's key upload (`PUT /v2/keys`): the first upload of a device creates its key set, later
 * ones change it. As in Signal, a non-empty pre-key list replaces what is stored for its kind
 * and an absent field leaves it alone. Keys arrive checked for encoding (base64, length, type
 * byte) and normalised to padded base64; signatures are checked here.
 */
import { decodeBase64 } from '../../packages/client/src/core/encoding.ts';
import { xeddsaVerifier } from '../crypto/xeddsa.ts';
import type { KeySetRecord, LastResortKey, PreKeyKind, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError, conflict, type ErrorDetail, invalid } from './errors.ts';
import { emitEvent } from './events.ts';
import { keySetFingerprint } from './key-set-lookup.ts';
import { archiveSignedPreKey, requireDeviceRoom } from './quotas.ts';
import { type Caller, requireActAs } from './principal.ts';
import { type SignalAccount, signalAccountState } from './signal-account.ts';
import { logKeySet } from './transparency/leaves.ts';

export interface SignalPreKey {
  keyId: number;
  publicKey: string;
}

export interface SignalSignedPreKey extends SignalPreKey {
  signature: string;
}

export interface SignalKeyUpload {
  identityKey?: string;
  signedPreKey?: SignalSignedPreKey;
  preKeys?: SignalPreKey[];
  /** Seed 000's unsigned EC last-resort key. */
  lastResortKey?: SignalPreKey;
  pqPreKeys?: SignalSignedPreKey[];
  pqLastResortPreKey?: SignalSignedPreKey;
  registrationId?: number;
}

const bytes = (base64: string) => decodeBase64(base64) ?? new Uint8Array();
const storedSigned = (key: SignalSignedPreKey): SignedKey => ({ keyId: String(key.keyId), publicKey: key.publicKey, signature: key.signature });
const storedLastResort = (key: SignalPreKey & { signature?: string }): LastResortKey => ({
  keyId: String(key.keyId),
  publicKey: key.publicKey,
  signature: key.signature ?? null,
});
const sameKey = (a: LastResortKey | SignedKey | null, b: LastResortKey | SignedKey) =>
  a !== null && a.keyId === b.keyId && a.publicKey === b.publicKey && a.signature === b.signature;

function requireDistinctKeyIds(keys: SignalPreKey[] | undefined, field: string): void {
  const seen = new Set<number>();
  const details: ErrorDetail[] = [];
  keys?.forEach((key, index) => {
    if (seen.has(key.keyId)) details.push({ field: `${field}.${index}.keyId`, message: `duplicate keyId ${key.keyId}` });
    seen.add(key.keyId);
  });
  if (details.length > 0) throw new AppError('VALIDATION_ERROR', `Invalid ${field}: duplicate key ids`, details);
}

/** Signed pre-keys and Kyber pre-keys are XEdDSA-signed by the identity key over their serialized form; Signal answers 422 otherwise. */
function requireValidSignatures(identityKey: string, upload: SignalKeyUpload): void {
  const verify = xeddsaVerifier(bytes(identityKey).subarray(1));
  const signed: Array<[string, SignalSignedPreKey | undefined]> = [
    ['signedPreKey', upload.signedPreKey],
    ...(upload.pqPreKeys ?? []).map((key, index): [string, SignalSignedPreKey] => [`pqPreKeys.${index}`, key]),
    ['pqLastResortPreKey', upload.pqLastResortPreKey],
  ];
  const details = signed
    .filter(([, key]) => key !== undefined && !verify(bytes(key.publicKey), bytes(key.signature)))
    .map(([field]) => ({ field: `${field}.signature`, message: 'not a valid XEdDSA signature by the identity key' }));
  if (details.length > 0) {
    throw new AppError('INVALID_SIGNATURE', `Invalid signature: ${details.map((detail) => detail.field).join(', ')}`, details, 422);
  }
}

/** Replaces the stored one-time pre-keys of one kind; returns how many are stored now. */
async function replacePreKeys(tx: StoreTx, keySetId: number, kind: PreKeyKind, keys: Array<SignalPreKey & { signature?: string }>, at: string) {
  await tx.oneTimePreKeys.deleteAll(keySetId, kind);
  await tx.oneTimePreKeys.insertMany(
    keySetId,
    kind,
    keys.map((key) => ({ ...key, keyId: String(key.keyId) })),
    at,
  );
  return keys.length;
}

export async function uploadSignalKeys(deps: Deps, caller: Caller, account: SignalAccount, upload: SignalKeyUpload): Promise<void> {
  const userId = account.identifier;
  const deviceId = String(account.deviceId);
  requireActAs(caller.principal, userId);
  requireDistinctKeyIds(upload.preKeys, 'preKeys');
  requireDistinctKeyIds(upload.pqPreKeys, 'pqPreKeys');
  const before = await deps.store.transaction((tx) => signalAccountState(tx, caller.projectId, account));
  const failure = { action: before.device ? 'KEYS_ROTATED' : 'KEYS_REGISTERED', userId, details: { deviceId } } as const;
  return audited(deps, caller, failure, async () => {
    // Devices after the first may omit the identity key: the account's is used (modern Signal clients never send it).
    const identityKey = upload.identityKey ?? before.identityKey;
    if (identityKey === undefined) throw invalid('identityKey', 'required for the first upload of an account');
    requireValidSignatures(identityKey, upload); // before the write transaction: ~1 ms per signature
    await deps.store.transaction(async (tx) => {
      await tx.keySets.lockUser(caller.projectId, userId); // first: the device cap holds until the insert
      const state = await signalAccountState(tx, caller.projectId, account);
      if (state.device && state.device.keyFormat !== 'signal') {
        throw conflict(`Device ${deviceId} of user ${userId} has /v1 keys; /v2 cannot change them`);
      }
      if (state.identityKey !== undefined && state.identityKey !== identityKey) {
        throw conflict(
          `The identity key differs from the one registered for user ${userId}; revoke the old keys (POST /v1/keys/revoke) before registering a new identity`,
        );
      }
      if (!state.device) await createSignalKeySet(deps, tx, caller, account, identityKey, upload);
      else await updateSignalKeySet(deps, tx, caller, state.device, upload);
    });
  });
}

async function createSignalKeySet(deps: Deps, tx: StoreTx, caller: Caller, account: SignalAccount, identityKey: string, upload: SignalKeyUpload) {
  if (!upload.signedPreKey) throw invalid('signedPreKey', "required for a device's first upload");
  const now = deps.clock.now();
  const at = now.toISOString();
  const userId = account.identifier;
  const deviceId = String(account.deviceId);
  requireDeviceRoom(deps, userId, await tx.keySets.listForUser(caller.projectId, userId));
  const keySet = await tx.keySets.insert({
    keyFormat: 'signal',
    projectId: caller.projectId,
    userId,
    deviceId,
    deviceName: null,
    registrationId: upload.registrationId ?? null,
    identityKey,
    signedPreKey: storedSigned(upload.signedPreKey),
    signedPreKeyCreatedAt: at,
    lastResortPreKey: upload.lastResortKey ? storedLastResort(upload.lastResortKey) : null,
    pqLastResortPreKey: upload.pqLastResortPreKey ? storedLastResort(upload.pqLastResortPreKey) : null,
    registeredAt: at,
  });
  await logKeySet(tx, deps.transparency !== undefined, keySet, 'key-set.registered', now);
  const oneTimePreKeysCount = upload.preKeys?.length ? await replacePreKeys(tx, keySet.id, 'ec', upload.preKeys, at) : 0;
  const pqPreKeysCount = upload.pqPreKeys?.length ? await replacePreKeys(tx, keySet.id, 'kyber', upload.pqPreKeys, at) : 0;
  const details = { deviceId, signedPreKeyId: keySet.signedPreKey.keyId, oneTimePreKeysCount, pqPreKeysCount };
  await appendAudit(tx, caller, now, { action: 'KEYS_REGISTERED', userId, details });
  const identityKeyFingerprint = keySetFingerprint(keySet);
  await emitEvent(tx, caller.projectId, userId, 'keys.registered', { deviceId, identityKeyFingerprint }, now);
}

async function updateSignalKeySet(deps: Deps, tx: StoreTx, caller: Caller, keySet: KeySetRecord, upload: SignalKeyUpload) {
  const { userId, deviceId } = keySet;
  if (keySet.status === 'suspended') throw new AppError('KEYS_SUSPENDED', `The keys of user ${userId} are suspended`);
  const now = deps.clock.now();
  const at = now.toISOString();
  // A re-sent unchanged key (a client retrying) changes nothing and raises no event.
  const signedPreKey = upload.signedPreKey && storedSigned(upload.signedPreKey);
  const newSignedPreKey = signedPreKey && !sameKey(keySet.signedPreKey, signedPreKey) ? signedPreKey : undefined;
  const lastResort = upload.lastResortKey && storedLastResort(upload.lastResortKey);
  const newLastResort = lastResort && !sameKey(keySet.lastResortPreKey, lastResort) ? lastResort : undefined;
  const pqLastResort = upload.pqLastResortPreKey && storedLastResort(upload.pqLastResortPreKey);
  const newPqLastResort = pqLastResort && !sameKey(keySet.pqLastResortPreKey, pqLastResort) ? pqLastResort : undefined;

  if (newSignedPreKey) await archiveSignedPreKey(deps, tx, keySet, at);
  await tx.keySets.update(keySet.id, {
    ...(newSignedPreKey && { signedPreKey: newSignedPreKey, signedPreKeyCreatedAt: at, lastRotatedAt: at }),
    ...(newLastResort && { lastResortPreKey: newLastResort }),
    ...(newPqLastResort && { pqLastResortPreKey: newPqLastResort }),
    ...(upload.registrationId !== undefined && { registrationId: upload.registrationId }),
  });
  const added = upload.preKeys?.length ? await replacePreKeys(tx, keySet.id, 'ec', upload.preKeys, at) : 0;
  const pqAdded = upload.pqPreKeys?.length ? await replacePreKeys(tx, keySet.id, 'kyber', upload.pqPreKeys, at) : 0;

  if (newSignedPreKey || newLastResort) {
    const rotated = { ...keySet, signedPreKey: newSignedPreKey ?? keySet.signedPreKey, lastResortPreKey: newLastResort ?? keySet.lastResortPreKey };
    await logKeySet(tx, deps.transparency !== undefined, rotated, 'key-set.rotated', now);
  }
  if (newSignedPreKey || newLastResort || newPqLastResort) {
    const details = {
      deviceId,
      newSignedPreKeyId: newSignedPreKey?.keyId ?? null,
      lastResortKeyChanged: newLastResort !== undefined,
      pqLastResortPreKeyChanged: newPqLastResort !== undefined,
    };
    await appendAudit(tx, caller, now, { action: 'KEYS_ROTATED', userId, details });
    const signedPreKeyId = (newSignedPreKey ?? keySet.signedPreKey).keyId;
    await emitEvent(tx, caller.projectId, userId, 'keys.rotated', { deviceId, signedPreKeyId }, now);
  }
  if (added > 0 || pqAdded > 0) {
    const remaining = added > 0 ? added : keySet.oneTimePreKeyCount;
    const pqRemaining = pqAdded > 0 ? pqAdded : await tx.oneTimePreKeys.count(keySet.id, 'kyber');
    const details = { deviceId, added, remaining, pqAdded, pqRemaining };
    await appendAudit(tx, caller, now, { action: 'PREKEYS_REPLENISHED', userId, details });
    await emitEvent(tx, caller.projectId, userId, 'prekeys.replenished', details, now);
  }
}
