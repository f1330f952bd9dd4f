/**
 * The console's RFC 9162 proof verification against proofs built here from RFC 6962's own
 * definitions (MTH, PATH, SUBPROOF), for every pair of sizes up to 17, and tampered proofs.
 */
import { describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../src/console/merkle-proofs.ts';
import { leafHash, mth, path, subproof } from '../helpers/merkle-reference.ts';

const leaves = Array.from({ length: 17 }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
const flip = (hash: Uint8Array) => Uint8Array.from(hash, (byte, index) => (index === 0 ? byte ^ 1 : byte));

describe('inclusion proofs', () => {
  it('verifies every leaf of every tree size, and refuses tampered ones', async () => {
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      const root = mth(tree);
      for (let m = 0; m < n; m++) {
        const proof = path(m, tree);
        expect(await verifyInclusion(m, n, leafHash(tree[m]!), proof, root), `${m} in ${n}`).toBe(true);
        expect(await verifyInclusion(m, n, flip(leafHash(tree[m]!)), proof, root)).toBe(false);
        expect(await verifyInclusion(m, n, leafHash(tree[m]!), proof, flip(root))).toBe(false);
        if (proof.length > 0) expect(await verifyInclusion(m, n, leafHash(tree[m]!), [flip(proof[0]!), ...proof.slice(1)], root)).toBe(false);
        if (n > 1) expect(await verifyInclusion((m + 1) % n, n, leafHash(tree[m]!), proof, root), `wrong index ${m} in ${n}`).toBe(false);
      }
      expect(await verifyInclusion(n, n, leafHash(tree[0]!), [], root)).toBe(false);
    }
  });
});

describe('consistency proofs', () => {
  it('verifies every pair of sizes, and refuses tampered proofs, roots and sizes', async () => {
    for (let n = 1; n <= leaves.length; n++) {
      const second = mth(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const first = mth(leaves.slice(0, m));
        const proof = m === n ? [] : subproof(m, leaves.slice(0, n), true);
        expect(await verifyConsistency(m, n, first, second, proof), `${m} → ${n}`).toBe(true);
        expect(await verifyConsistency(m, n, flip(first), second, proof), `${m} → ${n}, other first root`).toBe(false);
        expect(await verifyConsistency(m, n, first, flip(second), proof), `${m} → ${n}, other second root`).toBe(false);
        if (proof.length > 0) {
          expect(await verifyConsistency(m, n, first, second, [flip(proof[0]!), ...proof.slice(1)])).toBe(false);
          expect(await verifyConsistency(m, n, first, second, proof.slice(0, -1))).toBe(false);
        }
      }
      expect(await verifyConsistency(n, n - 1, second, second, [])).toBe(false); // a rollback
    }
  });
});
