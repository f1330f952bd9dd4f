/**
 * What goes into a project's transparency log, written in the transaction of the change it
 * records: a key-set leaf for every identity-key publication (register: a device added),
 * signed-pre-key or last-resort change (rotate), and revocation (a device removed); an anchor
 * leaf for every anchored hash.
 */
import { decodeBase64, decodeHex, encodeBase64, encodeHex } from '../../../packages/client/src/core/encoding.ts';
import type { KeySetRecord, LastResortKey, LogLeafRecord, SignedKey, StoreTx } from '../../store/types.ts';
import { encodeLeaf, keyHash, type KeyRef, type KeySetEvent, type Leaf } from '../../../packages/client/src/transparency/leaf.ts';
import { leafHash } from '../../../packages/client/src/transparency/merkle.ts';

/** A key's bytes as served: hex in /v1, base64 (with libsignal's type byte) in /v2. */
function keyBytes(format: KeySetRecord['keyFormat'], key: string): Uint8Array {
  const bytes = format === 'v1' ? decodeHex(key) : decodeBase64(key);
  if (!bytes) throw new Error(`a stored ${format} key does not decode`);
  return bytes;
}

const keyRef = (format: KeySetRecord['keyFormat'], key: SignedKey | LastResortKey): KeyRef => ({
  keyId: key.keyId,
  hash: keyHash(keyBytes(format, key.publicKey)),
});

/** The leaf describing a key set's keys as they are after `event`. */
export function keySetLeaf(keySet: KeySetRecord, event: KeySetEvent, time: Date): Leaf {
  return {
    event,
    projectId: keySet.projectId,
    time: time.toISOString(),
    userId: keySet.userId,
    deviceId: keySet.deviceId,
    keyFormat: keySet.keyFormat,
    identityKey: keyHash(keyBytes(keySet.keyFormat, keySet.identityKey)),
    signedPreKey: keyRef(keySet.keyFormat, keySet.signedPreKey),
    lastResortPreKey: keySet.lastResortPreKey ? keyRef(keySet.keyFormat, keySet.lastResortPreKey) : null,
  };
}

async function append(tx: StoreTx, leaf: Leaf, keySetId: number | null): Promise<LogLeafRecord> {
  const bytes = encodeLeaf(leaf);
  const record = {
    projectId: leaf.projectId,
    leaf: encodeBase64(bytes),
    leafHash: encodeHex(leafHash(bytes)),
    keySetId,
    anchorHash: leaf.event === 'anchor' ? leaf.hash : null,
    createdAt: leaf.time,
  };
  return { ...record, index: await tx.transparency.appendLeaf(record) };
}

/** Records a key set's new keys (or its revocation) in the log; a no-op while transparency is off. */
export async function logKeySet(tx: StoreTx, enabled: boolean, keySet: KeySetRecord, event: KeySetEvent, now: Date): Promise<LogLeafRecord | undefined> {
  if (!enabled) return undefined;
  return append(tx, keySetLeaf(keySet, event, now), keySet.id);
}

export const logAnchor = (tx: StoreTx, projectId: string, hash: string, now: Date): Promise<LogLeafRecord> =>
  append(tx, { event: 'anchor', projectId, time: now.toISOString(), hash }, null);

/**
 * The leaf that published a key set's current keys, in the transaction that reads them. A key
 * set from before the log was turned on gets its leaf now (once), so every served bundle has one.
 */
export async function publishedLeaf(tx: StoreTx, enabled: boolean, keySet: KeySetRecord, now: Date): Promise<LogLeafRecord | undefined> {
  if (!enabled) return undefined;
  return (
    (await tx.transparency.latestLeafForKeySet(keySet.projectId, keySet.id)) ??
    (await append(tx, keySetLeaf(keySet, keySet.status === 'revoked' ? 'key-set.revoked' : 'key-set.registered', now), keySet.id))
  );
}
