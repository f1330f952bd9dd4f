/**
 * C2SP tlog-cosignature, Ed25519 `cosignature/v1`: a witness's timestamped signature over
 * `cosignature/v1\ntime <seconds>\n` followed by the checkpoint's note text. The signature line's
 * blob is key ID (SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4]) ‖ u64 big-endian timestamp ‖ signature.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeHex, utf8 } from '../bytes.ts';
import { verifyEd25519Strict } from '../core/keys.ts';
import { keyId, type NoteSignature, NoteError, signatureLine, signatureTypes, type VerifierKey, formatVerifierKey, isValidKeyName } from './note.ts';

export const cosignedMessage = (text: string, timestamp: number): Uint8Array => utf8(`cosignature/v1\ntime ${timestamp}\n${text}`);

export interface Cosigner {
  name: string;
  verifierKey: string;
  /** The signature line over this checkpoint note text at `timestamp` (POSIX seconds). */
  cosign(text: string, timestamp: number): string;
}

export function cosignerFromSeed(name: string, seed: Uint8Array): Cosigner {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  const publicKey = ed25519.getPublicKey(seed);
  const id = keyId(name, signatureTypes.cosignatureV1, publicKey);
  return {
    name,
    verifierKey: formatVerifierKey(name, publicKey, signatureTypes.cosignatureV1),
    cosign(text, timestamp) {
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new NoteError('cosignature timestamp must be a non-negative integer');
      const stamped = new Uint8Array(8 + 64);
      new DataView(stamped.buffer).setBigUint64(0, BigInt(timestamp));
      stamped.set(ed25519.sign(cosignedMessage(text, timestamp), seed), 8);
      return signatureLine(name, id, stamped);
    },
  };
}

/** The cosignature's timestamp when it is a valid cosignature/v1 by this witness key over `text`; undefined otherwise. */
export function verifyCosignature(witness: VerifierKey, text: string, signature: NoteSignature): number | undefined {
  if (witness.type !== signatureTypes.cosignatureV1 || signature.name !== witness.name || signature.keyId !== encodeHex(witness.keyId)) return undefined;
  if (signature.signature.length !== 72) return undefined;
  const timestamp = new DataView(signature.signature.buffer, signature.signature.byteOffset).getBigUint64(0);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return verifyEd25519Strict(signature.signature.slice(8), cosignedMessage(text, Number(timestamp)), witness.publicKey) ? Number(timestamp) : undefined;
}
