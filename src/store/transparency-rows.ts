/** Row mapping shared by both backends' transparency repositories (column names are the same). */
import type { LogLeafRecord, TransparencyLogRecord } from './transparency-types.ts';

const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export function toLogLeaf(row: Record<string, unknown>): LogLeafRecord {
  return {
    projectId: String(row.project_id),
    index: Number(row.leaf_index),
    leaf: String(row.leaf),
    leafHash: String(row.leaf_hash),
    keySetId: row.key_set_id === null || row.key_set_id === undefined ? null : Number(row.key_set_id),
    anchorHash: textOrNull(row.anchor_hash),
    createdAt: String(row.created_at),
  };
}

export function toTransparencyLog(row: Record<string, unknown>): TransparencyLogRecord {
  return {
    projectId: String(row.project_id),
    origin: textOrNull(row.origin),
    signerKey: textOrNull(row.signer_key),
    retiredKeys: JSON.parse(String(row.retired_keys ?? '[]')) as string[],
    nextIndex: Number(row.next_index),
    treeSize: Number(row.tree_size),
    checkpoint: textOrNull(row.checkpoint),
    updatedAt: textOrNull(row.updated_at),
  };
}

/** Log heads are read without the signer key unless a checkpointer asks for it. */
export const logColumns = 'project_id, origin, signer_key, retired_keys, next_index, tree_size, checkpoint, updated_at';
export const leafColumns = 'project_id, leaf_index, leaf, leaf_hash, key_set_id, anchor_hash, created_at';
