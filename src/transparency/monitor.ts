/**
 * A transparency monitor: follows a log through its tlog-tiles (checkpoint, level-0 hash tiles,
 * and with watched users the entry bundles), rebuilds the tree's right edge itself, checks every
 * new checkpoint against it and against the log's consistency proof, and reports key changes of
 * watched users. A rollback, a fork (same size, another root) or an inconsistent tree is an
 * error carrying both checkpoints.
 */
import { decodeBase64, encodeBase64 } from '../../packages/client/src/core/encoding.ts';
import { type Checkpoint, parseCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import { decodeEntryBundle } from './entry-bundle.ts';
import { decodeLeaf, type Leaf } from '../../packages/client/src/transparency/leaf.ts';
import { leafHash, nodeHash, sameHash, verifyConsistency } from '../../packages/client/src/transparency/merkle.ts';
import { openNote, type VerifierKey } from '../../packages/client/src/transparency/note.ts';
import { tilePath, tileWidth } from './tiles.ts';

export interface MonitorState {
  /** The last verified checkpoint note. */
  checkpoint: string;
  /** Complete subtrees of the tree's right edge, largest first (level = log2 of its leaves). */
  edge: Array<{ level: number; hash: string }>;
}

export class LogMisbehaviour extends Error {
  constructor(
    message: string,
    readonly previous: string,
    readonly current: string,
  ) {
    super(message);
    this.name = 'LogMisbehaviour';
  }
}

export type Fetcher = (path: string, options?: { auth?: boolean }) => Promise<Uint8Array>;

interface Edge {
  level: number;
  hash: Uint8Array;
}

function append(edge: Edge[], hash: Uint8Array): void {
  edge.push({ level: 0, hash });
  while (edge.length > 1 && edge.at(-1)!.level === edge.at(-2)!.level) {
    const right = edge.pop()!;
    const left = edge.pop()!;
    edge.push({ level: left.level + 1, hash: nodeHash(left.hash, right.hash) });
  }
}

function rootOf(edge: Edge[]): Uint8Array {
  let root = edge.at(-1)!.hash;
  for (let i = edge.length - 2; i >= 0; i--) root = nodeHash(edge[i]!.hash, root);
  return root;
}

export interface MonitorStep {
  state: MonitorState;
  checkpoint: Checkpoint;
  /** Leaves of watched users appended since the last state, with their index. */
  changes: Array<{ index: number; leaf: Leaf }>;
}

/** One round: the newest checkpoint, verified against the state (undefined on the first run); `progress` hears each tile read. */
export async function monitorStep(
  fetcher: Fetcher,
  keys: VerifierKey[],
  state: MonitorState | undefined,
  watch: string[],
  progress?: (entriesRead: number, treeSize: number) => void,
): Promise<MonitorStep> {
  const note = new TextDecoder().decode(await fetcher('checkpoint'));
  const checkpoint = parseCheckpoint(openNote(note, keys).text);
  const previous = state ? parseCheckpoint(openNote(state.checkpoint, keys).text) : undefined;
  if (previous && previous.origin !== checkpoint.origin) throw new Error(`the log's origin changed from ${previous.origin} to ${checkpoint.origin}`);
  if (previous && checkpoint.size < previous.size)
    throw new LogMisbehaviour(`rollback: size ${checkpoint.size} after ${previous.size}`, state!.checkpoint, note);
  if (previous && checkpoint.size === previous.size) {
    if (!sameHash(previous.rootHash, checkpoint.rootHash))
      throw new LogMisbehaviour(`fork: two checkpoints of size ${checkpoint.size} with different roots`, state!.checkpoint, note);
    return { state: state!, checkpoint, changes: [] };
  }
  const edge: Edge[] = (state?.edge ?? []).map((item) => ({ level: item.level, hash: decodeBase64(item.hash)! }));
  const from = previous?.size ?? 0;
  const changes: MonitorStep['changes'] = [];
  for (let tile = Math.floor(from / tileWidth); tile * tileWidth < checkpoint.size; tile++) {
    const width = Math.min(tileWidth, checkpoint.size - tile * tileWidth);
    const hashes = await fetcher(tilePath(0, tile, width));
    if (hashes.length !== width * 32) throw new LogMisbehaviour(`tile 0/${tile} has ${hashes.length / 32} hashes, not ${width}`, state?.checkpoint ?? '', note);
    const entries = watch.length > 0 ? decodeEntryBundle(await fetcher(tilePath('entries', tile, width), { auth: true })) : [];
    for (let i = Math.max(0, from - tile * tileWidth); i < width; i++) {
      const hash = hashes.subarray(i * 32, (i + 1) * 32);
      append(edge, hash);
      if (watch.length === 0) continue;
      const entry = entries[i];
      if (!entry || !sameHash(leafHash(entry), hash))
        throw new LogMisbehaviour(`entry ${tile * tileWidth + i} does not hash to its tile hash`, state?.checkpoint ?? '', note);
      const leaf = decodeLeaf(entry);
      if (leaf.event !== 'anchor' && watch.includes(leaf.userId)) changes.push({ index: tile * tileWidth + i, leaf });
    }
    progress?.(tile * tileWidth + width, checkpoint.size);
  }
  if (!sameHash(rootOf(edge), checkpoint.rootHash)) {
    throw new LogMisbehaviour(`the tree the tiles describe does not have the checkpoint's root at size ${checkpoint.size}`, state?.checkpoint ?? '', note);
  }
  if (previous && previous.size > 0) {
    const answer = JSON.parse(new TextDecoder().decode(await fetcher(`proof/consistency?from=${previous.size}&to=${checkpoint.size}`))) as {
      data: { consistencyProof: string[] };
    };
    try {
      verifyConsistency(
        previous.size,
        checkpoint.size,
        answer.data.consistencyProof.map((hash) => decodeBase64(hash) ?? new Uint8Array(0)),
        previous.rootHash,
        checkpoint.rootHash,
      );
    } catch (error) {
      throw new LogMisbehaviour(
        `the log's consistency proof ${previous.size} → ${checkpoint.size} does not verify: ${(error as Error).message}`,
        state!.checkpoint,
        note,
      );
    }
  }
  return { state: { checkpoint: note, edge: edge.map((item) => ({ level: item.level, hash: encodeBase64(item.hash) })) }, checkpoint, changes };
}
