/**
 * The API key format: `pkd_` + 43 base62 characters (32 random bytes) + 6 base62 characters
 * of checksum (the first 4 bytes of SHA-256 of what precedes it). The fixed prefix lets secret
 * scanners recognise a leaked key; the checksum lets them (and the server) tell a real key from
 * a typo or a look-alike without a database lookup. Base62 keeps the key one "word" when
 * double-clicked and safe in URLs, headers and shell arguments.
 *
 * @example
 * const { key, prefix } = generateApiKey(); // key: pkd_3kT…Qz (53 chars), prefix: pkd_3kT9aB1x
 * hasValidApiKeyChecksum(key); // true
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../../packages/client/src/core/encoding.ts';

export const apiKeyMarker = 'pkd_';

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const bodyLength = 43; // 62^43 > 2^256
const checksumLength = 6; // 62^6 > 2^32
const apiKeyShape = new RegExp(`^${apiKeyMarker}[0-9A-Za-z]{${bodyLength + checksumLength}}$`);

/** Fixed-width base62 of a byte string, most significant digit first. */
function base62(bytes: Uint8Array, width: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let text = '';
  while (value > 0n) {
    text = alphabet[Number(value % 62n)] + text;
    value /= 62n;
  }
  return text.padStart(width, '0');
}

const randomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length));

const checksumOf = (payload: string): string => base62(sha256(utf8(payload)).subarray(0, 4), checksumLength);

/** A new secret key and the short prefix that identifies it in listings (the first 8 characters after `pkd_`). */
export function generateApiKey(): { key: string; prefix: string } {
  const payload = apiKeyMarker + base62(randomBytes(32), bodyLength);
  const key = payload + checksumOf(payload);
  return { key, prefix: apiKeyPrefix(key) };
}

export const apiKeyPrefix = (key: string): string => key.slice(0, apiKeyMarker.length + 8);

/** True when the token has the exact shape of a prekeyd API key (whatever its checksum). */
export const looksLikeApiKey = (token: string): boolean => apiKeyShape.test(token);

/** True for a well-formed key whose checksum matches: a typo in a real key fails here. */
export function hasValidApiKeyChecksum(token: string): boolean {
  if (!looksLikeApiKey(token)) return false;
  const payload = token.slice(0, -checksumLength);
  return checksumOf(payload) === token.slice(-checksumLength);
}

/** Public identifier of an API key (`key_` + 22 base62 characters, 128 random bits); not a secret. */
export const newApiKeyUid = (): string => `key_${base62(randomBytes(16), 22)}`;
