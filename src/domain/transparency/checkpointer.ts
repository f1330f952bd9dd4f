/**
 * Signing a project's next checkpoint: the leaves appended since the last one are hashed into
 * the hash tiles and the new tree head is signed, all in one transaction that holds the log
 * head's lock. A checkpoint is served only once that transaction is durable, and every
 * checkpoint extends the stored tiles, so no crash, restart or second instance can ever
 * publish two checkpoints that are inconsistent with each other.
 */
import { decodeBase64, decodeHex, encodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import type { Store, StoreTx } from '../../store/types.ts';
import { formatCheckpoint } from '../../../packages/client/src/transparency/checkpoint.ts';
import { leafHash, treeHash } from '../../../packages/client/src/transparency/merkle.ts';
import { generateSigner, parseSignerKey, signNote } from '../../../packages/client/src/transparency/note.ts';
import { appendLeafHashes, nodesFromTiles, rightEdge, tileLevels, tilesRead } from '../../transparency/tiles.ts';

export interface SignedCheckpoint {
  projectId: string;
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** The signed note, with any cosignatures collected for it. */
  note: string;
  verifierKey: string;
}

const tileKey = (level: number, index: number) => `${level}/${index}`;

async function readTiles(tx: StoreTx, projectId: string, coordinates: Array<{ level: number; index: number }>): Promise<Map<string, Uint8Array>> {
  const tiles = new Map<string, Uint8Array>();
  for (const tile of await tx.transparency.tiles(projectId, coordinates)) {
    const bytes = decodeBase64(tile.hashes);
    if (!bytes) throw new Error(`stored tile ${tile.level}/${tile.index} of ${projectId} is not base64`);
    tiles.set(tileKey(tile.level, tile.index), bytes);
  }
  return tiles;
}

/** Root of the first `size` leaves from tiles (those given, the rest read in the transaction). */
async function rootFromTiles(tx: StoreTx, projectId: string, size: number, known: Map<string, Uint8Array>): Promise<Uint8Array> {
  const wanted = tilesRead((nodes) => treeHash(nodes, size));
  const missing = wanted.filter((at) => !known.has(tileKey(at.level, at.index)));
  const tiles = new Map([...known, ...(await readTiles(tx, projectId, missing))]);
  return treeHash(
    nodesFromTiles((level, index) => tileLevels(tiles.get(tileKey(level, index)) ?? new Uint8Array(0))),
    size,
  );
}

/**
 * Covers up to `maxLeaves` pending leaves with a new signed checkpoint. Undefined when nothing
 * was pending (another instance got there first).
 */
export async function signNextCheckpoint(
  store: Store,
  projectId: string,
  options: { origin: string; now: Date; maxLeaves: number },
): Promise<SignedCheckpoint | undefined> {
  return store.transaction(async (tx) => {
    const log = await tx.transparency.log(projectId, { lock: true });
    if (!log || (log.treeSize >= log.nextIndex && log.checkpoint)) return undefined;
    const to = Math.min(log.nextIndex, log.treeSize + options.maxLeaves);
    const leaves = await tx.transparency.leaves(projectId, log.treeSize, to);
    if (leaves.length !== to - log.treeSize || leaves.some((leaf, i) => leaf.index !== log.treeSize + i)) {
      throw new Error(`transparency log ${projectId}: leaves ${log.treeSize}..${to} are not all stored`);
    }
    // Hashed again from the leaf bytes: the tree commits to what entry bundles serve.
    const hashes = leaves.map((leaf) => leafHash(decodeBase64(leaf.leaf) ?? new Uint8Array(0)));
    if (leaves.some((leaf, i) => decodeHex(leaf.leafHash)?.every((byte, j) => byte === hashes[i]![j]) !== true)) {
      throw new Error(`transparency log ${projectId}: a stored leaf hash does not match its leaf`);
    }
    const edge = await readTiles(tx, projectId, rightEdge(log.treeSize));
    const changed = appendLeafHashes(log.treeSize, edge, hashes);
    await tx.transparency.putTiles(
      projectId,
      [...changed.values()].map((tile) => ({ level: tile.level, index: tile.index, hashes: encodeBase64(tile.hashes) })),
    );
    const rootHash = await rootFromTiles(tx, projectId, to, new Map([...changed].map(([key, tile]) => [key, tile.hashes])));

    const origin = log.origin ?? options.origin;
    const signer = log.signerKey ? parseSignerKey(log.signerKey) : generateSigner(origin);
    const note = signNote(formatCheckpoint({ origin, size: to, rootHash }), [signer]);
    await tx.transparency.saveLog({
      projectId,
      origin,
      signerKey: signer.signerKey,
      retiredKeys: log.retiredKeys,
      treeSize: to,
      checkpoint: note,
      updatedAt: options.now.toISOString(),
    });
    return { projectId, origin, size: to, rootHash, note, verifierKey: signer.verifierKey };
  });
}
