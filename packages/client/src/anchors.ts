/**
 * `client.anchor(message, {hashOnly: true})` and `client.verifyAnchor(message, anchor)`: a
 * message's SHA-256 (computed here; the message never leaves the device) logged in the
 * project's transparency log, and the check that a message is the one anchored.
 *
 * The hash of an object is the SHA-256 of its canonical JSON (keys sorted, no spaces), of a
 * string its UTF-8, of bytes the bytes themselves.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeHex, utf8 } from './bytes.ts';
import { PrekeydError } from './errors.ts';
import type { Transport } from './http.ts';
import type { TransparencyVerifier } from './transparency.ts';
import type { Anchor } from './transparency-types.ts';

export type AnchorMessage = Uint8Array | string | object;

export interface AnchorOptions {
  /** Send only the hash (the only mode prekeyd has: the server never sees the message). Default true. */
  hashOnly?: boolean;
}

/** JSON with object keys sorted at every level, so equal objects hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new PrekeydError('INVALID_ARGUMENT', 'anchor: the message is not representable as JSON');
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** The hex SHA-256 an anchor of this message carries. */
export function anchorHashOf(message: AnchorMessage): string {
  if (message instanceof Uint8Array) return encodeHex(sha256(message));
  if (typeof message === 'string') return encodeHex(sha256(utf8(message)));
  return encodeHex(sha256(utf8(canonicalJson(message))));
}

async function checked(verifier: TransparencyVerifier, anchor: Anchor): Promise<Anchor> {
  const { leaf } = await verifier.checkProof(anchor);
  if (leaf.event !== 'anchor' || leaf.hash !== anchor.hash) {
    throw new PrekeydError('TRANSPARENCY_MISMATCH', `The log leaf ${anchor.leafIndex} does not anchor ${anchor.hash}`);
  }
  return anchor;
}

export async function anchorMessage(
  transport: Transport,
  verifier: TransparencyVerifier,
  message: AnchorMessage,
  options: AnchorOptions = {},
): Promise<Anchor> {
  if (options.hashOnly === false) throw new PrekeydError('INVALID_ARGUMENT', 'anchor: prekeyd anchors hashes only; the message never leaves the device');
  const hash = anchorHashOf(message);
  return checked(verifier, await transport.request<Anchor>('POST', '/v1/anchors', { body: { hash } }));
}

/**
 * Checks that `message` is what was anchored: against an anchor receipt (verified offline,
 * plus consistency with this client's stored checkpoint), or a bare hash (fetched from the log).
 */
export async function verifyAnchor(transport: Transport, verifier: TransparencyVerifier, message: AnchorMessage, anchor: Anchor | string): Promise<Anchor> {
  const hash = anchorHashOf(message);
  const claimed = typeof anchor === 'string' ? anchor.toLowerCase() : anchor?.hash;
  if (claimed !== hash) throw new PrekeydError('TRANSPARENCY_MISMATCH', 'The message does not hash to the anchored hash');
  const receipt = typeof anchor === 'string' ? await transport.request<Anchor>('GET', `/v1/anchors/${hash}`) : anchor;
  return checked(verifier, receipt);
}
