/**
 * C2SP tlog-tiles: the tree stored and served as tiles of 256 hashes (height 8). Tile `(L, N)`
 * holds the hashes of tree level 8·L, nodes N·256 … N·256+255; the rightmost tile of a level is
 * partial (`.p/<W>`). Tiles are the whole state of the tree: appending reads only the rightmost
 * tile of each level, so nothing is recomputed at start and the cost of a batch does not grow
 * with the log.
 */
import { hashSize, nodeHash, type NodeHashes } from './merkle.ts';

export const tileHeight = 8;
export const tileWidth = 256;

export interface TileCoordinate {
  level: number;
  index: number;
  /** Hashes in the tile: 256 for a full tile, 1-255 for a partial one. */
  width: number;
}

/** Index 1234067 → `x001/x234/067`. */
export function encodeTileIndex(index: number): string {
  const groups: string[] = [];
  let rest = index;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
}

/** `tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for level `'entries'`. */
export function tilePath(level: number | 'entries', index: number, width = tileWidth): string {
  return `tile/${level}/${encodeTileIndex(index)}${width < tileWidth ? `.p/${width}` : ''}`;
}

/** Parses the part of a tile URL after `tile/`; undefined unless it is exactly canonical. */
export function parseTilePath(path: string): { level: number | 'entries'; index: number; width: number } | undefined {
  const match = /^(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!match) return undefined;
  const level = match[1] === 'entries' ? 'entries' : Number(match[1]);
  if (typeof level === 'number' && level > 63) return undefined;
  const index = Number(match[2]!.replace(/[x/]/g, ''));
  const width = match[3] === undefined ? tileWidth : Number(match[3]);
  if (!Number.isSafeInteger(index) || (match[3] !== undefined && width >= tileWidth)) return undefined;
  // One spelling per tile: no leading zero groups (x000/001 is 001).
  if (encodeTileIndex(index) !== match[2]) return undefined;
  return { level, index, width };
}

/** Complete nodes at tree level 8·level in a tree of `size` leaves. */
const nodesAt = (size: number, level: number): number => Math.floor(size / tileWidth ** level);

/** The tiles a tree of `size` leaves has at `level`: full ones, then the partial one if any. */
export function tileCount(size: number, level: number): { full: number; partialWidth: number } {
  const nodes = nodesAt(size, level);
  return { full: Math.floor(nodes / tileWidth), partialWidth: nodes % tileWidth };
}

/** Width of tile (level, index) in a tree of `size` leaves; 0 when the tile does not exist yet. */
export function tileWidthAt(size: number, level: number, index: number): number {
  const { full, partialWidth } = tileCount(size, level);
  if (index < full) return tileWidth;
  return index === full ? partialWidth : 0;
}

/** The rightmost (partial) tile of every level of a tree of `size` leaves. */
export function rightEdge(size: number): TileCoordinate[] {
  const edge: TileCoordinate[] = [];
  for (let level = 0; nodesAt(size, level) > 0; level++) {
    const { full, partialWidth } = tileCount(size, level);
    if (partialWidth > 0) edge.push({ level, index: full, width: partialWidth });
  }
  return edge;
}

export const hashesIn = (tile: Uint8Array): number => Math.floor(tile.length / hashSize);
const hashAt = (tile: Uint8Array, position: number): Uint8Array => tile.subarray(position * hashSize, (position + 1) * hashSize);

/** MTH of a power-of-two run of hashes. */
function subtreeOf(hashes: Uint8Array[]): Uint8Array {
  let row = hashes;
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

/**
 * Every complete node inside a tile: `levels[r][i]` is the hash at tree level 8·L + r covering
 * tile hashes i·2^r … (i+1)·2^r − 1. Computed once per tile (255 hashes) and then looked up.
 */
export function tileLevels(tile: Uint8Array): Uint8Array[][] {
  const levels: Uint8Array[][] = [Array.from({ length: hashesIn(tile) }, (_, i) => hashAt(tile, i))];
  for (let r = 1; r <= tileHeight; r++) {
    const below = levels[r - 1]!;
    const row: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) row.push(nodeHash(below[i]!, below[i + 1]!));
    levels.push(row);
  }
  return levels;
}

/** Where the complete node (treeLevel, index) lives: its tile, and the tile hashes it needs. */
export function nodeLocation(treeLevel: number, index: number): { level: number; index: number; width: number; sublevel: number; position: number } {
  const level = Math.floor(treeLevel / tileHeight);
  const sublevel = treeLevel % tileHeight;
  const first = index * 2 ** sublevel; // the first tile-level hash it covers
  const tileIndex = Math.floor(first / tileWidth);
  const offset = first % tileWidth;
  return { level, index: tileIndex, width: offset + 2 ** sublevel, sublevel, position: offset >> sublevel };
}

/** A source of tiles' internal nodes (a cache in front of storage, or tiles in memory). */
export type TileLevelsSource = (level: number, index: number, minWidth: number) => Uint8Array[][];

/** NodeHashes over tiles: every node hash the proofs of merkle.ts ask for. */
export function nodesFromTiles(source: TileLevelsSource): NodeHashes {
  return {
    node(treeLevel, index) {
      const at = nodeLocation(treeLevel, index);
      const hash = source(at.level, at.index, at.width)[at.sublevel]?.[at.position];
      if (!hash) throw new RangeError(`tile ${at.level}/${at.index} has no node at level ${treeLevel} index ${index}`);
      return hash;
    },
  };
}

/**
 * The tiles a computation over NodeHashes reads, found by running it once over zero hashes (the
 * shape of a proof depends only on sizes and indexes, never on hash values).
 */
export function tilesRead(compute: (nodes: NodeHashes) => unknown): TileCoordinate[] {
  const wanted = new Map<string, TileCoordinate>();
  const zero = new Uint8Array(hashSize);
  compute({
    node(treeLevel, index) {
      const at = nodeLocation(treeLevel, index);
      const key = `${at.level}/${at.index}`;
      const known = wanted.get(key);
      if (!known || known.width < at.width) wanted.set(key, { level: at.level, index: at.index, width: at.width });
      return zero;
    },
  });
  return [...wanted.values()];
}

/**
 * Appends leaf hashes to a tree of `size` leaves whose rightmost tiles are `edge` (as read from
 * storage, see rightEdge). Returns every tile that changed, with its new contents.
 */
export function appendLeafHashes(size: number, edge: Map<string, Uint8Array>, leafHashes: Uint8Array[]): Map<string, TileCoordinate & { hashes: Uint8Array }> {
  const working = new Map<number, Uint8Array[]>(); // level → hashes of its rightmost tile
  const changed = new Map<string, TileCoordinate & { hashes: Uint8Array }>();
  const rightmost = (level: number, atSize: number): Uint8Array[] => {
    let hashes = working.get(level);
    if (!hashes) {
      const { full, partialWidth } = tileCount(atSize, level);
      const stored = partialWidth > 0 ? edge.get(`${level}/${full}`) : undefined;
      if (partialWidth > 0 && (!stored || hashesIn(stored) < partialWidth)) throw new RangeError(`tile ${level}/${full} is missing from the right edge`);
      hashes = Array.from({ length: partialWidth }, (_, i) => hashAt(stored!, i).slice());
      working.set(level, hashes);
    }
    return hashes;
  };
  const touched = new Map<string, { level: number; index: number; hashes: Uint8Array[] }>();
  let current = size;
  for (const leaf of leafHashes) {
    let hash = leaf;
    for (let level = 0; ; level++) {
      const hashes = rightmost(level, current);
      const index = Math.floor(nodesAt(current, level) / tileWidth);
      hashes.push(hash);
      touched.set(`${level}/${index}`, { level, index, hashes });
      if (hashes.length < tileWidth) break;
      hash = subtreeOf(hashes); // a full tile: its root goes one level up
      working.set(level, []);
    }
    current++;
  }
  for (const [key, { level, index, hashes }] of touched) {
    const bytes = new Uint8Array(hashes.length * hashSize);
    hashes.forEach((hash, i) => bytes.set(hash, i * hashSize));
    changed.set(key, { level, index, width: hashes.length, hashes: bytes });
  }
  return changed;
}
