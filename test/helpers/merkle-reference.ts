/**
 * RFC 6962 §2.1 written out from its definitions — MTH (the tree hash), PATH (inclusion) and
 * SUBPROOF (consistency) — as the reference the console's proof verification is tested against.
 */
import { createHash } from 'node:crypto';

export const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
export const leafHash = (data: Uint8Array) => sha256(Uint8Array.of(0), data);
const node = (left: Uint8Array, right: Uint8Array) => sha256(Uint8Array.of(1), left, right);
/** The largest power of two smaller than n (RFC 6962 §2.1). */
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

export function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leafHash(leaves[0]!);
  const k = split(leaves.length);
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

export function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

export function subproof(m: number, leaves: Uint8Array[], complete: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [mth(leaves)];
  const k = split(n);
  return m <= k ? [...subproof(m, leaves.slice(0, k), complete), mth(leaves.slice(k))] : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}
