/**
 * A second, independent RFC 6962 implementation for the tests, written from the RFC's recursive
 * definitions (§2.1, §2.1.1, §2.1.2) with node:crypto: MTH over leaves, and verification of audit
 * paths and consistency proofs by replaying the recursion that defines them. It shares no code
 * with src/transparency (which verifies with RFC 9162's iterative algorithms over @noble/hashes).
 */
import { createHash } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export const referenceLeafHash = (leaf: Uint8Array): Buffer => sha256(Buffer.from([0]), leaf);
const node = (left: Uint8Array, right: Uint8Array): Buffer => sha256(Buffer.from([1]), left, right);
const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1); // largest power of 2 < n

/** MTH(D[n]) over leaf hashes. */
export function referenceRoot(leafHashes: Uint8Array[]): Buffer {
  const n = leafHashes.length;
  if (n === 0) return sha256();
  if (n === 1) return Buffer.from(leafHashes[0]!);
  const split = k(n);
  return node(referenceRoot(leafHashes.slice(0, split)), referenceRoot(leafHashes.slice(split)));
}

/** True when `proof` is PATH(m, D[n]) leading from `leaf` to `root`. */
export function referenceVerifyInclusion(leaf: Uint8Array, m: number, n: number, proof: Uint8Array[], root: Uint8Array): boolean {
  const stack = proof.map((p) => Buffer.from(p));
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) or PATH(m-k, D[k:n]) : MTH(D[0:k]): the last element is the outermost.
  const walk = (index: number, size: number): Buffer | undefined => {
    if (size === 1) return Buffer.from(leaf);
    const sibling = stack.pop();
    if (!sibling) return undefined;
    const split = k(size);
    if (index < split) {
      const left = walk(index, split);
      return left && node(left, sibling);
    }
    const right = walk(index - split, size - split);
    return right && node(sibling, right);
  };
  if (m < 0 || m >= n) return false;
  const computed = walk(m, n);
  return computed !== undefined && stack.length === 0 && computed.equals(Buffer.from(root));
}

/** True when `proof` is PROOF(m, D[n]) showing the tree with root `oldRoot` is a prefix of the one with `newRoot`. */
export function referenceVerifyConsistency(m: number, n: number, proof: Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array): boolean {
  if (m === n) return proof.length === 0 && Buffer.from(oldRoot).equals(Buffer.from(newRoot));
  if (m === 0) return proof.length === 0;
  if (m > n) return false;
  const stack = proof.map((p) => Buffer.from(p));
  // SUBPROOF(m, D[n], b), replayed: returns the old and the new subtree hashes it implies.
  const walk = (m: number, size: number, whole: boolean): { old: Buffer; new: Buffer } | undefined => {
    if (m === size) {
      if (whole) return { old: Buffer.from(oldRoot), new: Buffer.from(oldRoot) };
      const hash = stack.pop();
      return hash && { old: hash, new: hash };
    }
    const last = stack.pop();
    if (!last) return undefined;
    const split = k(size);
    if (m <= split) {
      const sub = walk(m, split, whole);
      return sub && { old: sub.old, new: node(sub.new, last) };
    }
    const sub = walk(m - split, size - split, false);
    return sub && { old: node(last, sub.old), new: node(last, sub.new) };
  };
  const result = walk(m, n, true);
  return result !== undefined && stack.length === 0 && result.old.equals(Buffer.from(oldRoot)) && result.new.equals(Buffer.from(newRoot));
}
