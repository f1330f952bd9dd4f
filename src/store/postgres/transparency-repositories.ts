/**
 * Key-transparency leaves, tiles and log heads on PostgreSQL (semantics of
 * sqljs/transparency-repositories.ts). Appending a leaf takes the project's write lock first (as
 * every audited change already does), then the log head's row lock: always in that order, so an
 * append and a checkpointer (which takes only the row lock) never deadlock.
 */
import { leafColumns, logColumns, toLogLeaf, toTransparencyLog } from '../transparency-rows.ts';
import type { NewLogLeaf, StoredTile, TransparencyLogRecord, TransparencyRepository } from '../transparency-types.ts';
import { first, lockProject, rows, type TxContext } from './tx-context.ts';

export class PgTransparency implements TransparencyRepository {
  constructor(private readonly ctx: TxContext) {}

  async appendLeaf(leaf: NewLogLeaf): Promise<number> {
    await lockProject(this.ctx, leaf.projectId);
    const row = await first(
      this.ctx.client,
      `INSERT INTO transparency_logs (project_id, next_index) VALUES ($1, 1)
       ON CONFLICT (project_id) DO UPDATE SET next_index = transparency_logs.next_index + 1 RETURNING next_index - 1 AS leaf_index`,
      [leaf.projectId],
    );
    const index = Number(row?.leaf_index);
    await this.ctx.client.query(`INSERT INTO transparency_leaves (${leafColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      leaf.projectId, index, leaf.leaf, leaf.leafHash, leaf.keySetId, leaf.anchorHash, leaf.createdAt,
    ]);
    return index;
  }

  private async one(where: string, params: Array<string | number>) {
    const row = await first(this.ctx.client, `SELECT ${leafColumns} FROM transparency_leaves WHERE ${where}`, params);
    return row && toLogLeaf(row);
  }

  leaf(projectId: string, index: number) {
    return this.one('project_id = $1 AND leaf_index = $2', [projectId, index]);
  }

  leafByHash(projectId: string, leafHash: string) {
    return this.one('project_id = $1 AND leaf_hash = $2 ORDER BY leaf_index LIMIT 1', [projectId, leafHash]);
  }

  leafByAnchor(projectId: string, anchorHash: string) {
    return this.one('project_id = $1 AND anchor_hash = $2 ORDER BY leaf_index LIMIT 1', [projectId, anchorHash]);
  }

  latestLeafForKeySet(projectId: string, keySetId: number) {
    return this.one('project_id = $1 AND key_set_id = $2 ORDER BY leaf_index DESC LIMIT 1', [projectId, keySetId]);
  }

  async leaves(projectId: string, from: number, to: number) {
    const found = await rows(
      this.ctx.client,
      `SELECT ${leafColumns} FROM transparency_leaves WHERE project_id = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index`,
      [projectId, from, to],
    );
    return found.map(toLogLeaf);
  }

  async log(projectId: string, options: { lock?: boolean } = {}): Promise<TransparencyLogRecord | undefined> {
    const row = await first(this.ctx.client, `SELECT ${logColumns} FROM transparency_logs WHERE project_id = $1${options.lock ? ' FOR UPDATE' : ''}`, [projectId]);
    return row && toTransparencyLog(row);
  }

  async saveLog(log: Omit<TransparencyLogRecord, 'nextIndex'>) {
    await this.ctx.client.query(
      `INSERT INTO transparency_logs (project_id, origin, signer_key, retired_keys, next_index, tree_size, checkpoint, updated_at)
       VALUES ($1, $2, $3, $4, 0, $5, $6, $7)
       ON CONFLICT (project_id) DO UPDATE SET origin = excluded.origin, signer_key = excluded.signer_key, retired_keys = excluded.retired_keys,
         tree_size = excluded.tree_size, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
      [log.projectId, log.origin, log.signerKey, JSON.stringify(log.retiredKeys), log.treeSize, log.checkpoint, log.updatedAt],
    );
  }

  async updateCheckpointNote(projectId: string, treeSize: number, checkpoint: string) {
    const result = await this.ctx.client.query('UPDATE transparency_logs SET checkpoint = $1 WHERE project_id = $2 AND tree_size = $3', [checkpoint, projectId, treeSize]);
    return result.rowCount > 0;
  }

  async pendingLogs() {
    const found = await rows(this.ctx.client, 'SELECT project_id FROM transparency_logs WHERE tree_size < next_index ORDER BY project_id');
    return found.map((row) => String(row.project_id));
  }

  async tiles(projectId: string, coordinates: Array<{ level: number; index: number }>): Promise<StoredTile[]> {
    if (coordinates.length === 0) return [];
    const pairs = coordinates.map((_, i) => `(level = $${2 * i + 2} AND tile_index = $${2 * i + 3})`).join(' OR ');
    const found = await rows(this.ctx.client, `SELECT level, tile_index, hashes FROM transparency_tiles WHERE project_id = $1 AND (${pairs})`, [
      projectId,
      ...coordinates.flatMap((c) => [c.level, c.index]),
    ]);
    return found.map((row) => ({ level: Number(row.level), index: Number(row.tile_index), hashes: String(row.hashes) }));
  }

  async putTiles(projectId: string, tiles: StoredTile[]) {
    for (const tile of tiles) {
      await this.ctx.client.query(
        `INSERT INTO transparency_tiles (project_id, level, tile_index, hashes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, level, tile_index) DO UPDATE SET hashes = excluded.hashes`,
        [projectId, tile.level, tile.index, tile.hashes],
      );
    }
  }
}
