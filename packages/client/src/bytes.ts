/**
 * Byte helpers of the SDK; bad input is an INVALID_ARGUMENT. The codec is the SDK's own (same
 * rules as the server's src/crypto/encoding.ts: hex in either case, standard base64 padded or
 * not) so that @prekeyd/client depends on no server code.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { PrekeydError } from './errors.ts';

const hexPattern = /^(?:[0-9a-fA-F]{2})*$/;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

export const decodeHex = (text: string): Uint8Array | undefined => (hexPattern.test(text) ? hexToBytes(text) : undefined);

export const encodeHex = (bytes: Uint8Array): string => bytesToHex(bytes);

export function decodeBase64(text: string): Uint8Array | undefined {
  if (!base64Pattern.test(text) || text.length % 4 === 1) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (text.length % 4 !== 0 && text.length !== unpadded.length) return undefined;
  const binary = atob(unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Hex of exactly `length` bytes (any length when omitted). */
export function hexBytes(text: string, what: string, length?: number): Uint8Array {
  const bytes = typeof text === 'string' ? decodeHex(text) : undefined;
  if (!bytes || (length !== undefined && bytes.length !== length)) {
    const size = length === undefined ? '' : ` of ${length} bytes`;
    throw new PrekeydError('INVALID_ARGUMENT', `${what} must be hex${size}`);
  }
  return bytes;
}

export function base64Bytes(text: string, what: string): Uint8Array {
  const bytes = typeof text === 'string' ? decodeBase64(text) : undefined;
  if (!bytes) throw new PrekeydError('INVALID_ARGUMENT', `${what} must be standard base64`);
  return bytes;
}

/** A 32-byte key given as bytes or hex. */
export function keyBytes(key: Uint8Array | string, what: string): Uint8Array {
  const bytes = typeof key === 'string' ? hexBytes(key, what, 32) : key;
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new PrekeydError('INVALID_ARGUMENT', `${what} must be 32 bytes`);
  }
  return bytes;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const randomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length));

/** An id the server accepts as a keyId (`[A-Za-z0-9_-]{1,64}`), random so that ids never collide. */
export const randomKeyId = (prefix: string): string => `${prefix}_${encodeHex(randomBytes(8))}`;
