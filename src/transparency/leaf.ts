/**
 * The bytes of a log leaf: canonical, versioned text, one `name value` line per field in a fixed
 * order (the first line names the version). Values never contain spaces or newlines, so the
 * encoding is unambiguous; a parser re-encodes what it read and refuses anything not canonical.
 *
 *   prekeyd/leaf/v1
 *   project default
 *   time 2026-12-03T12:00:00.000Z
 *   event key-set.rotated
 *   user alice
 *   device phone
 *   format v1
 *   identity-key <hex SHA-256 of the identity key bytes>
 *   signed-pre-key <keyId> <hex SHA-256 of the public key bytes>
 *   last-resort-pre-key <keyId> <hex SHA-256> | none
 *
 * An anchor leaf has `event anchor` and one more line, `hash <hex 32 bytes>`, after `event`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeHex, utf8 } from '../crypto/encoding.ts';

export const leafVersionLine = 'prekeyd/leaf/v1';

export type KeySetEvent = 'key-set.registered' | 'key-set.rotated' | 'key-set.revoked';
const keySetEvents: readonly string[] = ['key-set.registered', 'key-set.rotated', 'key-set.revoked'];

export interface KeyRef {
  keyId: string;
  /** Hex SHA-256 of the public key bytes. */
  hash: string;
}

export interface KeySetLeaf {
  event: KeySetEvent;
  projectId: string;
  time: string;
  userId: string;
  deviceId: string;
  keyFormat: 'v1' | 'signal';
  /** Hex SHA-256 of the identity key bytes. */
  identityKey: string;
  signedPreKey: KeyRef;
  lastResortPreKey: KeyRef | null;
}

export interface AnchorLeaf {
  event: 'anchor';
  projectId: string;
  time: string;
  /** Hex of the 32-byte hash the client anchored. */
  hash: string;
}

export type Leaf = KeySetLeaf | AnchorLeaf;

export class LeafError extends Error {
  override readonly name = 'LeafError';
}

export const keyHash = (bytes: Uint8Array): string => encodeHex(sha256(bytes));

const token = /^[\x21-\x7e]{1,256}$/;
const hexHash = /^[0-9a-f]{64}$/;
const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function field(name: string, value: string): string {
  if (!token.test(value)) throw new LeafError(`leaf field ${name} must be printable ASCII without spaces`);
  return `${name} ${value}\n`;
}

const keyRef = (ref: KeyRef | null): string => {
  if (ref === null) return 'none';
  if (!hexHash.test(ref.hash)) throw new LeafError('a key hash is 64 lowercase hex digits');
  if (!token.test(ref.keyId)) throw new LeafError('a key id must be printable ASCII without spaces');
  return `${ref.keyId} ${ref.hash}`;
};

export function encodeLeafText(leaf: Leaf): string {
  if (!isoTime.test(leaf.time)) throw new LeafError('leaf time must be RFC 3339 UTC with milliseconds');
  let text = `${leafVersionLine}\n${field('project', leaf.projectId)}${field('time', leaf.time)}${field('event', leaf.event)}`;
  if (leaf.event === 'anchor') {
    if (!hexHash.test(leaf.hash)) throw new LeafError('an anchor hash is 64 lowercase hex digits');
    return `${text}hash ${leaf.hash}\n`;
  }
  if (!keySetEvents.includes(leaf.event)) throw new LeafError(`unknown leaf event ${String(leaf.event)}`);
  if (!hexHash.test(leaf.identityKey)) throw new LeafError('identity-key is 64 lowercase hex digits');
  text += `${field('user', leaf.userId)}${field('device', leaf.deviceId)}${field('format', leaf.keyFormat)}`;
  text += `identity-key ${leaf.identityKey}\nsigned-pre-key ${keyRef(leaf.signedPreKey)}\nlast-resort-pre-key ${keyRef(leaf.lastResortPreKey)}\n`;
  return text;
}

export const encodeLeaf = (leaf: Leaf): Uint8Array => utf8(encodeLeafText(leaf));

function parseKeyRef(value: string, nullable: boolean): KeyRef | null {
  if (nullable && value === 'none') return null;
  const [keyId, hash, ...rest] = value.split(' ');
  if (!keyId || !hash || rest.length > 0) throw new LeafError('a key reference is <keyId> <hash>');
  return { keyId, hash };
}

/** Parses leaf bytes; throws LeafError unless they are exactly the canonical encoding of a v1 leaf. */
export function decodeLeaf(bytes: Uint8Array): Leaf {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LeafError('a leaf is UTF-8 text');
  }
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines[0] !== leafVersionLine) throw new LeafError(`not a ${leafVersionLine} leaf`);
  const values = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const space = line.indexOf(' ');
    if (space <= 0 || values.has(line.slice(0, space))) throw new LeafError('malformed leaf line');
    values.set(line.slice(0, space), line.slice(space + 1));
  }
  const get = (name: string): string => {
    const value = values.get(name);
    if (value === undefined) throw new LeafError(`leaf has no ${name}`);
    return value;
  };
  const base = { projectId: get('project'), time: get('time') };
  const event = get('event');
  let leaf: Leaf;
  if (event === 'anchor') {
    leaf = { event, ...base, hash: get('hash') };
  } else {
    const keyFormat = get('format');
    if (keyFormat !== 'v1' && keyFormat !== 'signal') throw new LeafError('unknown key format');
    leaf = {
      event: event as KeySetEvent,
      ...base,
      userId: get('user'),
      deviceId: get('device'),
      keyFormat,
      identityKey: get('identity-key'),
      signedPreKey: parseKeyRef(get('signed-pre-key'), false)!,
      lastResortPreKey: parseKeyRef(get('last-resort-pre-key'), true),
    };
  }
  if (encodeLeafText(leaf) !== text) throw new LeafError('leaf is not in canonical form');
  return leaf;
}
