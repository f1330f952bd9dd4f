/**
 * C2SP signed-note (c2sp.org/signed-note) with Ed25519 keys: key names, key IDs, verifier keys
 * (`<name>+<hex key ID>+<base64(0x01 ‖ public key)>`), signer keys
 * (`PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`) and signature lines
 * (`— <name> <base64(key ID ‖ signature)>`).
 *
 * @example
 * ```ts
 * const signer = generateSigner('example.com/log');
 * const note = signNote('hello\n', [signer]);
 * openNote(note, [verifierFromKey(signer.verifierKey)]).text; // 'hello\n'
 * ```
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeBase64, encodeBase64, encodeHex, utf8 } from '../bytes.ts';
import { verifyEd25519Strict } from '../core/keys.ts';

/** Signature types of the key ID preimage: 0x01 Ed25519 note signatures, 0x04 Ed25519 cosignature/v1. */
export const signatureTypes = { ed25519: 0x01, cosignatureV1: 0x04 } as const;
export type SignatureType = (typeof signatureTypes)[keyof typeof signatureTypes];

const maxSignatures = 100;

export class NoteError extends Error {
  override readonly name = 'NoteError';
}

/** Key names are non-empty, with no Unicode spaces and no `+`. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/\p{Cc}/u.test(name);
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]. */
export function keyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  const nameBytes = utf8(name);
  const input = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input[nameBytes.length + 1] = type;
  input.set(publicKey, nameBytes.length + 2);
  return sha256(input).slice(0, 4);
}

/** Splits `a+b+rest` into three parts; the base64 rest may itself contain `+`. */
function splitKey(text: string): [string, string, string] | undefined {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  return second < 0 ? undefined : [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
}

export interface VerifierKey {
  name: string;
  type: number;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

function typedKey(type: number, key: Uint8Array): string {
  const bytes = new Uint8Array(key.length + 1);
  bytes[0] = type;
  bytes.set(key, 1);
  return encodeBase64(bytes);
}

export function formatVerifierKey(name: string, publicKey: Uint8Array, type: number = signatureTypes.ed25519): string {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  return `${name}+${encodeHex(keyId(name, type, publicKey))}+${typedKey(type, publicKey)}`;
}

/** Parses a vkey; its key ID must be the one its name and key give. Types 0x01 and 0x04 (Ed25519). */
export function parseVerifierKey(vkey: string): VerifierKey {
  const parts = typeof vkey === 'string' ? splitKey(vkey) : undefined;
  if (!parts) throw new NoteError('a verifier key is <name>+<hex key ID>+<base64 key>');
  const [name, idHex, keyText] = parts;
  const bytes = decodeBase64(keyText);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || !bytes || bytes.length !== 33) {
    throw new NoteError('malformed verifier key');
  }
  const type = bytes[0]!;
  if (type !== signatureTypes.ed25519 && type !== signatureTypes.cosignatureV1) throw new NoteError(`unknown verifier key type 0x${type.toString(16)}`);
  const publicKey = bytes.slice(1);
  const id = keyId(name, type, publicKey);
  if (encodeHex(id) !== idHex) throw new NoteError('verifier key ID does not match its name and key');
  if (encodeBase64(bytes) !== keyText) throw new NoteError('verifier key is not canonical base64');
  return { name, type, keyId: id, publicKey };
}

export interface NoteSigner {
  name: string;
  keyId: Uint8Array;
  verifierKey: string;
  /** The 64-byte Ed25519 signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

function signerFromSeed(name: string, seed: Uint8Array): NoteSigner & { signerKey: string } {
  const publicKey = ed25519.getPublicKey(seed);
  return {
    name,
    keyId: keyId(name, signatureTypes.ed25519, publicKey),
    verifierKey: formatVerifierKey(name, publicKey),
    signerKey: `PRIVATE+KEY+${name}+${encodeHex(keyId(name, signatureTypes.ed25519, publicKey))}+${typedKey(signatureTypes.ed25519, seed)}`,
    sign: (message) => ed25519.sign(message, seed),
  };
}

export function generateSigner(name: string): NoteSigner & { signerKey: string } {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  return signerFromSeed(name, ed25519.utils.randomSecretKey());
}

/** Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`. */
export function parseSignerKey(skey: string): NoteSigner & { signerKey: string } {
  const parts = typeof skey === 'string' && skey.startsWith('PRIVATE+KEY+') ? splitKey(skey.slice(12)) : undefined;
  if (!parts) throw new NoteError('a signer key is PRIVATE+KEY+<name>+<hex key ID>+<base64 key>');
  const [name, idHex, keyText] = parts;
  const bytes = decodeBase64(keyText);
  if (!isValidKeyName(name) || !bytes || bytes.length !== 33 || bytes[0] !== signatureTypes.ed25519) throw new NoteError('malformed signer key');
  const signer = signerFromSeed(name, bytes.slice(1));
  if (encodeHex(signer.keyId) !== idHex) throw new NoteError('signer key ID does not match its name and key');
  return signer;
}

export const signatureLine = (name: string, id: Uint8Array, signature: Uint8Array): string => {
  const blob = new Uint8Array(id.length + signature.length);
  blob.set(id, 0);
  blob.set(signature, id.length);
  return `— ${name} ${encodeBase64(blob)}\n`;
};

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteError('note text must end in a newline');
  if (text.includes('\n\n') || text.startsWith('\n')) throw new NoteError('note text must not contain an empty line');
  if (/[\p{Cc}]/u.test(text.replace(/\n/g, ''))) throw new NoteError('note text must not contain control characters');
}

/** The text, an empty line, and one signature line per signer. */
export function signNote(text: string, signers: NoteSigner[]): string {
  checkText(text);
  const message = utf8(text);
  return `${text}\n${signers.map((signer) => signatureLine(signer.name, signer.keyId, signer.sign(message))).join('')}`;
}

export interface NoteSignature {
  name: string;
  /** The key ID as 8 lowercase hex digits. */
  keyId: string;
  /** Everything after the key ID (the signature, or a timestamped signature). */
  signature: Uint8Array;
  line: string;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

/** Splits a signed note into its text and signature lines, without verifying anything. */
export function parseNote(note: string): ParsedNote {
  if (typeof note !== 'string') throw new NoteError('a note is text');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note: no empty line before the signatures');
  const text = note.slice(0, split + 1);
  checkText(text);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('malformed note: signature lines must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > maxSignatures) throw new NoteError('too many signatures');
  const signatures = lines.map((line) => {
    const match = /^— (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    const blob = match ? decodeBase64(match[2]!) : undefined;
    if (!match || !blob || blob.length < 5 || !isValidKeyName(match[1]!)) throw new NoteError('malformed signature line');
    return { name: match[1]!, keyId: encodeHex(blob.slice(0, 4)), signature: blob.slice(4), line: `${line}\n` };
  });
  return { text, signatures };
}

/** Whether a note signature of type 0x01 by this verifier key signs `text`. */
export function verifiesNoteText(verifier: VerifierKey, text: string, signature: NoteSignature): boolean {
  if (verifier.type !== signatureTypes.ed25519 || signature.name !== verifier.name || signature.keyId !== encodeHex(verifier.keyId)) return false;
  if (signature.signature.length !== 64) return false;
  return verifyEd25519Strict(signature.signature, utf8(text), verifier.publicKey);
}

/**
 * Parses the note and checks that at least one of `verifiers` signed it; signatures by other
 * keys are kept (a cosignature is one) but not trusted. Throws NoteError otherwise.
 */
export function openNote(note: string, verifiers: VerifierKey[]): ParsedNote & { verifiedBy: VerifierKey[] } {
  const parsed = parseNote(note);
  const verifiedBy = verifiers.filter((verifier) => parsed.signatures.some((signature) => verifiesNoteText(verifier, parsed.text, signature)));
  if (verifiedBy.length === 0) throw new NoteError('no signature by a trusted key verifies the note');
  return { ...parsed, verifiedBy };
}
