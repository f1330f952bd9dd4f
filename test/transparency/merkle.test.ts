/** The Merkle tree against RFC 6962's test vectors and against an independent verifier (rfc6962-reference.ts). */
import { describe, expect, it } from 'vitest';
import { encodeHex } from '../../packages/client/src/core/encoding.ts';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  ProofError,
  treeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../packages/client/src/transparency/merkle.ts';
import { appendLeafHashes, nodesFromTiles, rightEdge, tileLevels } from '../../src/transparency/tiles.ts';
import { referenceLeafHash, referenceRoot, referenceVerifyConsistency, referenceVerifyInclusion } from './rfc6962-reference.ts';

// The eight leaves and roots of the certificate-transparency test data (RFC 6962 trees of 1…8 leaves).
const vectorLeaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const vectorRoots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** A tree held in tiles in memory, built by the production appender. */
function tiledTree(leafHashes: Uint8Array[]) {
  const tiles = new Map<string, Uint8Array>();
  let size = 0;
  for (let i = 0; i < leafHashes.length; i += 97) {
    const batch = leafHashes.slice(i, i + 97); // uneven batches cross tile boundaries
    const edge = new Map(rightEdge(size).map((at) => [`${at.level}/${at.index}`, tiles.get(`${at.level}/${at.index}`)!]));
    for (const [key, tile] of appendLeafHashes(size, edge, batch)) tiles.set(key, tile.hashes);
    size += batch.length;
  }
  const levels = new Map<string, Uint8Array[][]>();
  const nodes = nodesFromTiles((level, index) => {
    const key = `${level}/${index}`;
    if (!levels.has(key)) levels.set(key, tileLevels(tiles.get(key)!));
    return levels.get(key)!;
  });
  return { tiles, nodes, size };
}

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

describe('RFC 6962 tree', () => {
  it('matches the published roots for 1 to 8 leaves, and the empty tree', () => {
    const hashes = vectorLeaves.map((leaf) => leafHash(bytes(leaf)));
    for (let n = 1; n <= 8; n++) {
      expect(encodeHex(treeHash(tiledTree(hashes.slice(0, n)).nodes, n))).toBe(vectorRoots[n - 1]);
      expect(referenceRoot(hashes.slice(0, n)).toString('hex')).toBe(vectorRoots[n - 1]);
    }
    expect(encodeHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(encodeHex(leafHash(new Uint8Array(0)))).toBe(referenceLeafHash(new Uint8Array(0)).toString('hex'));
  });

  it('proofs over tiles verify with both verifiers, across tile boundaries (1100 leaves)', () => {
    const hashes = Array.from({ length: 1100 }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
    const tree = tiledTree(hashes);
    const sizes = [1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 700, 1024, 1099, 1100];
    for (const size of sizes) {
      const root = treeHash(tree.nodes, size);
      expect(root).toEqual(Uint8Array.from(referenceRoot(hashes.slice(0, size))));
      for (const index of [0, 1, size >> 1, size - 2, size - 1].filter((i) => i >= 0 && i < size)) {
        const proof = inclusionProof(index, size, tree.nodes);
        verifyInclusion(hashes[index]!, index, size, proof, root);
        expect(referenceVerifyInclusion(hashes[index]!, index, size, proof, root)).toBe(true);
        if (size > 1) expect(referenceVerifyInclusion(hashes[(index + 1) % size]!, index, size, proof, root)).toBe(false);
      }
      for (const oldSize of sizes.filter((s) => s <= size)) {
        const proof = consistencyProof(oldSize, size, tree.nodes);
        const oldRoot = treeHash(tree.nodes, oldSize);
        verifyConsistency(oldSize, size, proof, oldRoot, root);
        expect(referenceVerifyConsistency(oldSize, size, proof, oldRoot, root)).toBe(true);
      }
    }
  });

  it('refuses tampered proofs, wrong roots and wrong sizes', () => {
    const hashes = Array.from({ length: 300 }, (_, i) => leafHash(new Uint8Array([i & 0xff, i >> 8])));
    const tree = tiledTree(hashes);
    const root = treeHash(tree.nodes, 300);
    const proof = inclusionProof(42, 300, tree.nodes);
    const tampered = proof.map((p, i) => (i === 3 ? Uint8Array.from(p, (b, j) => (j === 0 ? b ^ 1 : b)) : p));
    expect(() => verifyInclusion(hashes[42]!, 42, 300, tampered, root)).toThrow(ProofError);
    expect(referenceVerifyInclusion(hashes[42]!, 42, 300, tampered, root)).toBe(false);
    expect(() => verifyInclusion(hashes[42]!, 42, 300, proof.slice(1), root)).toThrow(ProofError);
    expect(() => verifyInclusion(hashes[42]!, 42, 600, proof, root)).toThrow(ProofError);
    expect(() => verifyInclusion(hashes[42]!, 300, 300, proof, root)).toThrow(ProofError);

    const oldRoot = treeHash(tree.nodes, 100);
    const consistency = consistencyProof(100, 300, tree.nodes);
    expect(() => verifyConsistency(100, 300, consistency, root, root)).toThrow(ProofError);
    expect(() => verifyConsistency(100, 300, consistency.slice(0, -1), oldRoot, root)).toThrow(ProofError);
    expect(() => verifyConsistency(300, 300, [], oldRoot, root)).toThrow(ProofError);
    expect(referenceVerifyConsistency(100, 300, consistency, root, root)).toBe(false);
  });
});
