/**
 * RFC 9162 §2.1.3.2 and §2.1.4.2: verifying inclusion and consistency proofs of an RFC 6962
 * Merkle tree (SHA-256, node hash H(0x01 ‖ left ‖ right)) in the browser, with WebCrypto. Sizes
 * may exceed 2³²: halving uses arithmetic, not bit operators (which truncate to 32 bits).
 */
type Hash = Uint8Array;

async function nodeHash(left: Hash, right: Hash): Promise<Hash> {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input));
}

const equal = (a: Hash, b: Hash) => a.length === b.length && a.every((byte, index) => byte === b[index]);
const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

export async function verifyInclusion(leafIndex: number, treeSize: number, leafHash: Hash, proof: Hash[], rootHash: Hash): Promise<boolean> {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) (fn = half(fn)), (sn = half(sn));
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(r, rootHash);
}

export async function verifyConsistency(first: number, second: number, firstHash: Hash, secondHash: Hash, proof: Hash[]): Promise<boolean> {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && equal(firstHash, secondHash);
  if (first === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  if (proof.length === 0) return false;
  // A first tree of 2^k leaves is a complete subtree of the second: its root starts the path.
  const path = Number.isInteger(Math.log2(first)) ? [firstHash, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) (fn = half(fn)), (sn = half(sn));
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) (fn = half(fn)), (sn = half(sn));
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return equal(fr, firstHash) && equal(sr, secondHash) && sn === 0;
}

export function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

export function hexBytes(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
