/**
 * Proofs and tiles served from storage, through a cache of tiles' internal nodes: a full tile
 * never changes, and a partial one only grows (its first hashes stay), so a cached tile serves
 * every request that needs no more hashes than it holds.
 */
import { decodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import type { Store } from '../../store/types.ts';
import { consistencyProof, inclusionProof, type NodeHashes, treeHash } from '../../../packages/client/src/transparency/merkle.ts';
import { hashesIn, nodesFromTiles, tileLevels, tilesRead, tileWidth } from '../../transparency/tiles.ts';

interface CachedTile {
  width: number;
  hashes: Uint8Array;
  levels: Uint8Array[][];
}

export class ProofSource {
  private readonly cache = new Map<string, CachedTile>();

  constructor(
    private readonly store: Store,
    private readonly maxTiles = 2048,
  ) {}

  private remember(key: string, tile: CachedTile): void {
    this.cache.delete(key);
    this.cache.set(key, tile);
    if (this.cache.size > this.maxTiles) this.cache.delete(this.cache.keys().next().value!);
  }

  private cached(projectId: string, level: number, index: number, width: number): CachedTile | undefined {
    const tile = this.cache.get(`${projectId}/${level}/${index}`);
    return tile && tile.width >= width ? tile : undefined;
  }

  /** Makes sure these tiles are cached with at least the widths asked for. */
  private async load(projectId: string, wanted: Array<{ level: number; index: number; width: number }>): Promise<void> {
    const missing = wanted.filter((at) => !this.cached(projectId, at.level, at.index, at.width));
    if (missing.length === 0) return;
    const stored = await this.store.transaction((tx) => tx.transparency.tiles(projectId, missing));
    for (const tile of stored) {
      const hashes = decodeBase64(tile.hashes);
      if (!hashes) continue;
      this.remember(`${projectId}/${tile.level}/${tile.index}`, { width: hashesIn(hashes), hashes, levels: tileLevels(hashes) });
    }
  }

  /** Runs a computation over the project's node hashes, loading the tiles it reads first. */
  async compute<T>(projectId: string, computation: (nodes: NodeHashes) => T): Promise<T> {
    const wanted = tilesRead(computation);
    await this.load(projectId, wanted);
    return computation(
      nodesFromTiles((level, index, width) => {
        const tile = this.cached(projectId, level, index, width);
        if (!tile) throw new Error(`transparency tile ${level}/${index} of ${projectId} is not stored`);
        return tile.levels;
      }),
    );
  }

  inclusion(projectId: string, index: number, size: number): Promise<Uint8Array[]> {
    return this.compute(projectId, (nodes) => inclusionProof(index, size, nodes));
  }

  consistency(projectId: string, oldSize: number, newSize: number): Promise<Uint8Array[]> {
    return this.compute(projectId, (nodes) => consistencyProof(oldSize, newSize, nodes));
  }

  root(projectId: string, size: number): Promise<Uint8Array> {
    return this.compute(projectId, (nodes) => treeHash(nodes, size));
  }

  /** Leaves [from, to) of the log, for entry bundles. */
  leaves(projectId: string, from: number, to: number) {
    return this.store.transaction((tx) => tx.transparency.leaves(projectId, from, to));
  }

  leafByHash(projectId: string, leafHash: string) {
    return this.store.transaction((tx) => tx.transparency.leafByHash(projectId, leafHash));
  }

  /** The first `width` hashes of a stored tile; undefined when it has fewer. */
  async tile(projectId: string, level: number, index: number, width: number): Promise<Uint8Array | undefined> {
    await this.load(projectId, [{ level, index, width }]);
    const tile = this.cached(projectId, level, index, width);
    return tile?.hashes.slice(0, width * 32);
  }
}

export { tileWidth };
