/**
 * The Merkle tree of RFC 6962 / RFC 9162 §2.1 (SHA-256): leaf hash `H(0x00 ‖ leaf)`, node hash
 * `H(0x01 ‖ left ‖ right)`, audit paths and consistency proofs, and their verification.
 *
 * Proof generation reads complete subtree hashes through `NodeHashes`, so it never needs more
 * than O(log n) of them, wherever they are stored (hash tiles, see tiles.ts).
 *
 * @example
 * ```ts
 * const proof = inclusionProof(3, 7, nodes);
 * verifyInclusion(leafHash(leaf), 3, 7, proof, root); // throws ProofError when it does not hold
 * ```
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const hashSize = 32;

/** Thrown when a proof does not verify, or its shape does not fit the sizes given. */
export class ProofError extends Error {
  override readonly name = 'ProofError';
}

export function leafHash(leaf: Uint8Array): Uint8Array {
  const input = new Uint8Array(leaf.length + 1);
  input.set(leaf, 1);
  return sha256(input);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + 2 * hashSize);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + hashSize);
  return sha256(input);
}

/** MTH({}) = SHA-256 of the empty string. */
export const emptyRoot = (): Uint8Array => sha256(new Uint8Array(0));

/** The hash of the complete subtree at `level` (2^level leaves) number `index`: leaves [index·2^level, (index+1)·2^level). */
export interface NodeHashes {
  node(level: number, index: number): Uint8Array;
}

/** The largest power of two smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && Number.isInteger(Math.log2(n));

/** MTH(D[lo:hi]) from complete subtree hashes; `lo` is always aligned as the RFC's recursion leaves it. */
export function rangeHash(nodes: NodeHashes, lo: number, hi: number): Uint8Array {
  const size = hi - lo;
  if (size === 0) return emptyRoot();
  if (isPowerOfTwo(size) && lo % size === 0) return nodes.node(Math.log2(size), lo / size);
  const k = splitPoint(size);
  return nodeHash(rangeHash(nodes, lo, lo + k), rangeHash(nodes, lo + k, hi));
}

export const treeHash = (nodes: NodeHashes, size: number): Uint8Array => rangeHash(nodes, 0, size);

function checkSizes(index: number, size: number, what: string): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new ProofError(`${what}: index ${index} is not inside a tree of size ${size}`);
  }
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1: the audit path of leaf `index` in the tree of `size` leaves. */
export function inclusionProof(index: number, size: number, nodes: NodeHashes): Uint8Array[] {
  checkSizes(index, size, 'inclusion proof');
  let lo = 0;
  let hi = size;
  const siblings: Uint8Array[] = [];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index - lo < k) {
      siblings.push(rangeHash(nodes, lo + k, hi));
      hi = lo + k;
    } else {
      siblings.push(rangeHash(nodes, lo, lo + k));
      lo += k;
    }
  }
  // The recursion appends on the way back up: the deepest sibling comes first.
  return siblings.reverse();
}

/** PROOF(m, D[n]) of RFC 6962 §2.1.2: that the tree of `oldSize` leaves is a prefix of the one of `newSize`. */
export function consistencyProof(oldSize: number, newSize: number, nodes: NodeHashes): Uint8Array[] {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    throw new ProofError(`consistency proof: ${oldSize} is not a size between 0 and ${newSize}`);
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  const proof: Uint8Array[] = [];
  let m = oldSize;
  let lo = 0;
  let hi = newSize;
  let whole = true; // SUBPROOF's b: the old tree is the whole subtree so far
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      proof.push(rangeHash(nodes, lo + k, hi));
      hi = lo + k;
    } else {
      proof.push(rangeHash(nodes, lo, lo + k));
      lo += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) proof.push(rangeHash(nodes, lo, hi));
  return proof.reverse();
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** The root an audit path leads to (RFC 9162 §2.1.3.2); throws ProofError when its length does not fit. */
export function rootFromInclusionProof(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[]): Uint8Array {
  checkSizes(index, size, 'inclusion proof');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== hashSize) throw new ProofError('inclusion proof: a hash is not 32 bytes');
    if (sn === 0) throw new ProofError('inclusion proof: longer than the tree is deep');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError('inclusion proof: shorter than the tree is deep');
  return r;
}

export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): void {
  if (!equal(rootFromInclusionProof(leaf, index, size, proof), root)) throw new ProofError('inclusion proof: the root does not match');
}

/** RFC 9162 §2.1.4.2. Throws ProofError unless the old root is a prefix of the new one. */
export function verifyConsistency(oldSize: number, newSize: number, proof: Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array): void {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    throw new ProofError(`consistency proof: ${oldSize} is not a size between 0 and ${newSize}`);
  }
  if (proof.some((p) => p.length !== hashSize)) throw new ProofError('consistency proof: a hash is not 32 bytes');
  if (oldSize === newSize) {
    if (proof.length !== 0) throw new ProofError('consistency proof: must be empty for equal sizes');
    if (!equal(oldRoot, newRoot)) throw new ProofError('consistency proof: same size, different roots');
    return;
  }
  if (oldSize === 0) {
    if (proof.length !== 0) throw new ProofError('consistency proof: must be empty from size 0');
    return;
  }
  if (proof.length === 0) throw new ProofError('consistency proof: empty');
  let path = proof;
  if (isPowerOfTwo(oldSize)) path = [oldRoot, ...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofError('consistency proof: too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError('consistency proof: too short');
  if (!equal(fr, oldRoot)) throw new ProofError('consistency proof: the old root does not match');
  if (!equal(sr, newRoot)) throw new ProofError('consistency proof: the new root does not match');
}

export const sameHash = equal;
