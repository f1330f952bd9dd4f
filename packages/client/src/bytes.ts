/**
 * Byte helpers of the SDK; bad input is an INVALID_ARGUMENT. The codec itself is core/encoding.ts,
 * the one the server uses too (hex in either case, standard base64 padded or not).
 */
import { decodeBase64, decodeHex, encodeHex } from './core/encoding.ts';
import { PrekeydError } from './errors.ts';

export { decodeBase64, decodeHex, encodeBase64, encodeHex, utf8 } from './core/encoding.ts';

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
