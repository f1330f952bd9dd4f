/**
 * The one hex/base64 codec of prekeyd, shared by the server and the SDK (the server imports it
 * from here). Hex is accepted in either case and written lowercase; base64 is the standard
 * alphabet, padded or not.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

const hexPattern = /^(?:[0-9a-fA-F]{2})*$/;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes hex; undefined when the text is not even-length hex. */
export function decodeHex(text: string): Uint8Array | undefined {
  return hexPattern.test(text) ? hexToBytes(text) : undefined;
}

export const encodeHex = (bytes: Uint8Array): string => bytesToHex(bytes);

/** Decodes standard base64, padded or not; undefined when malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!base64Pattern.test(text) || text.length % 4 === 1) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (text.length % 4 === 0 ? false : text.length !== unpadded.length) return undefined;
  const binary = atob(unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
