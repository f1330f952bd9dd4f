/** What a Signal device asks about its own keys: how many pre-keys are left, and whether its repeated-use keys match. */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { decodeBase64 } from '../../packages/client/src/core/encoding.ts';
import type { KeySetRecord } from '../store/types.ts';
import type { Deps } from './deps.ts';
import { conflict } from './errors.ts';
import { type Caller, requireActAs } from './principal.ts';
import { type SignalAccount, signalDeviceKeySet } from './signal-account.ts';

/**
 * `{count, pqCount}` of the calling device. A device without keys has none left: answering 0
 * (not 404) makes a Signal client upload its keys, which is how it registers.
 */
export async function countSignalPreKeys(deps: Deps, caller: Caller, account: SignalAccount) {
  requireActAs(caller.principal, account.identifier);
  return deps.store.transaction(async (tx) => {
    const keySet = await signalDeviceKeySet(tx, caller.projectId, account);
    if (!keySet) return { count: 0, pqCount: 0 };
    return { count: keySet.oneTimePreKeyCount, pqCount: await tx.oneTimePreKeys.count(keySet.id, 'kyber') };
  });
}

const keyIdBytes = (keyId: string) => {
  const buffer = new Uint8Array(8);
  new DataView(buffer.buffer).setBigUint64(0, BigInt(keyId));
  return buffer;
};

/**
 * Signal-Server's `checkKeys` digest: SHA-256(identityKey ‖ signedPreKeyId ‖ signedPreKey ‖
 * lastResortKeyId ‖ lastResortKey), ids as 8-byte big-endian, keys serialized with their type
 * byte, the last-resort key being the Kyber one. Undefined when a key is missing.
 */
export function repeatedUseKeyDigest(keySet: KeySetRecord): Uint8Array | undefined {
  const lastResort = keySet.pqLastResortPreKey;
  const parts = [keySet.identityKey, keySet.signedPreKey.publicKey, lastResort?.publicKey].map((key) => key && decodeBase64(key));
  const [identityKey, signedPreKey, lastResortKey] = parts;
  if (!lastResort || !identityKey || !signedPreKey || !lastResortKey) return undefined;
  return sha256(concatBytes(identityKey, keyIdBytes(keySet.signedPreKey.keyId), signedPreKey, keyIdBytes(lastResort.keyId), lastResortKey));
}

function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** Resolves when the client's digest matches the stored keys; CONFLICT (409, as Signal) otherwise. */
export async function checkSignalKeys(deps: Deps, caller: Caller, account: SignalAccount, digest: Uint8Array): Promise<void> {
  requireActAs(caller.principal, account.identifier);
  const keySet = await deps.store.transaction((tx) => signalDeviceKeySet(tx, caller.projectId, account));
  const expected = keySet && repeatedUseKeyDigest(keySet);
  if (!expected || !equalDigests(expected, digest)) {
    throw conflict("The repeated-use keys stored for this device differ from the client's (or are missing); upload them again");
  }
}
