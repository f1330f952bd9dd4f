/** The storage side of key transparency (src/transparency): log leaves, hash tiles, and each project's log head. */

export interface LogLeafRecord {
  projectId: string;
  index: number;
  /** The leaf bytes (src/transparency/leaf.ts), base64. */
  leaf: string;
  /** Hex RFC 6962 leaf hash. */
  leafHash: string;
  /** The key set a key-set leaf describes; null for anchors. */
  keySetId: number | null;
  /** Hex hash of an anchor leaf; null for key-set leaves. */
  anchorHash: string | null;
  createdAt: string;
}

export type NewLogLeaf = Omit<LogLeafRecord, 'index'>;

export interface TransparencyLogRecord {
  projectId: string;
  /** Checkpoint origin line; null until the first checkpoint. */
  origin: string | null;
  /** The log's Ed25519 signed-note signer key (`PRIVATE+KEY+…`); null until the first checkpoint. */
  signerKey: string | null;
  /** Verifier keys the log signed with before a rotation. */
  retiredKeys: string[];
  /** Leaves appended so far: the next leaf's index. */
  nextIndex: number;
  /** Leaves covered by the hash tiles and by `checkpoint`. */
  treeSize: number;
  /** The newest signed checkpoint (with the cosignatures collected for it); null before the first. */
  checkpoint: string | null;
  updatedAt: string | null;
}

export interface StoredTile {
  level: number;
  index: number;
  /** The tile's hashes, concatenated, base64. */
  hashes: string;
}

export interface TransparencyRepository {
  /** Appends a leaf (creating the project's log on its first); returns its index. */
  appendLeaf(leaf: NewLogLeaf): Promise<number>;
  leaf(projectId: string, index: number): Promise<LogLeafRecord | undefined>;
  leafByHash(projectId: string, leafHash: string): Promise<LogLeafRecord | undefined>;
  leafByAnchor(projectId: string, anchorHash: string): Promise<LogLeafRecord | undefined>;
  /** The newest leaf describing this key set. */
  latestLeafForKeySet(projectId: string, keySetId: number): Promise<LogLeafRecord | undefined>;
  /** Leaves with index in [from, to), in index order. */
  leaves(projectId: string, from: number, to: number): Promise<LogLeafRecord[]>;
  /** The log head; `lock` holds it until the transaction ends (one checkpointer at a time). */
  log(projectId: string, options?: { lock?: boolean }): Promise<TransparencyLogRecord | undefined>;
  /** Writes origin, keys, tree size and checkpoint (never `nextIndex`, which only appendLeaf moves). */
  saveLog(log: Omit<TransparencyLogRecord, 'nextIndex'>): Promise<void>;
  /** Replaces the checkpoint note if the log is still at `treeSize` (cosignatures arriving later). */
  updateCheckpointNote(projectId: string, treeSize: number, checkpoint: string): Promise<boolean>;
  /** Projects with leaves not yet covered by a checkpoint. */
  pendingLogs(): Promise<string[]>;
  tiles(projectId: string, coordinates: Array<{ level: number; index: number }>): Promise<StoredTile[]>;
  putTiles(projectId: string, tiles: StoredTile[]): Promise<void>;
}
