/**
 * Key-transparency leaves, tiles and log heads, for both backends. PostgreSQL takes the
 * project's write lock before appending a leaf (postgres/transparency.ts).
 */
import { leafColumns, logColumns, toLogLeaf, toTransparencyLog } from '../transparency-rows.ts';
import type { NewLogLeaf, StoredTile, TransparencyLogRecord, TransparencyRepository } from '../transparency-types.ts';
import type { SqlRunner, SqlValue } from './runner.ts';

export class SqlTransparency implements TransparencyRepository {
  constructor(protected readonly sql: SqlRunner) {}

  async appendLeaf(leaf: NewLogLeaf): Promise<number> {
    const [row] = await this.sql.returning(
      `INSERT INTO transparency_logs (project_id, next_index) VALUES (?, 1)
       ON CONFLICT (project_id) DO UPDATE SET next_index = transparency_logs.next_index + 1 RETURNING next_index - 1 AS leaf_index`,
      [leaf.projectId],
    );
    const index = Number(row?.leaf_index);
    await this.sql.run(`INSERT INTO transparency_leaves (${leafColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
      leaf.projectId,
      index,
      leaf.leaf,
      leaf.leafHash,
      leaf.keySetId,
      leaf.anchorHash,
      leaf.createdAt,
    ]);
    return index;
  }

  private async one(where: string, params: SqlValue[]) {
    const row = await this.sql.get(`SELECT ${leafColumns} FROM transparency_leaves WHERE ${where}`, params);
    return row && toLogLeaf(row);
  }

  leaf(projectId: string, index: number) {
    return this.one('project_id = ? AND leaf_index = ?', [projectId, index]);
  }

  leafByHash(projectId: string, leafHash: string) {
    return this.one('project_id = ? AND leaf_hash = ? ORDER BY leaf_index LIMIT 1', [projectId, leafHash]);
  }

  leafByAnchor(projectId: string, anchorHash: string) {
    return this.one('project_id = ? AND anchor_hash = ? ORDER BY leaf_index LIMIT 1', [projectId, anchorHash]);
  }

  latestLeafForKeySet(projectId: string, keySetId: number) {
    return this.one('project_id = ? AND key_set_id = ? ORDER BY leaf_index DESC LIMIT 1', [projectId, keySetId]);
  }

  async leaves(projectId: string, from: number, to: number) {
    const rows = await this.sql.all(
      `SELECT ${leafColumns} FROM transparency_leaves WHERE project_id = ? AND leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index`,
      [projectId, from, to],
    );
    return rows.map(toLogLeaf);
  }

  async log(projectId: string, options: { lock?: boolean } = {}): Promise<TransparencyLogRecord | undefined> {
    const lock = options.lock ? this.sql.dialect.rowLock : '';
    const row = await this.sql.get(`SELECT ${logColumns} FROM transparency_logs WHERE project_id = ?${lock}`, [projectId]);
    return row && toTransparencyLog(row);
  }

  async saveLog(log: Omit<TransparencyLogRecord, 'nextIndex'>) {
    await this.sql.run(
      `INSERT INTO transparency_logs (project_id, origin, signer_key, retired_keys, next_index, tree_size, checkpoint, updated_at)
       VALUES (?, ?, ?, ?, 0, ?, ?, ?)
       ON CONFLICT (project_id) DO UPDATE SET origin = excluded.origin, signer_key = excluded.signer_key, retired_keys = excluded.retired_keys,
         tree_size = excluded.tree_size, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
      [log.projectId, log.origin, log.signerKey, JSON.stringify(log.retiredKeys), log.treeSize, log.checkpoint, log.updatedAt],
    );
  }

  async updateCheckpointNote(projectId: string, treeSize: number, checkpoint: string) {
    return (
      (await this.sql.run('UPDATE transparency_logs SET checkpoint = ? WHERE project_id = ? AND tree_size = ?', [checkpoint, projectId, treeSize])).changes > 0
    );
  }

  async pendingLogs() {
    return (await this.sql.all('SELECT project_id FROM transparency_logs WHERE tree_size < next_index ORDER BY project_id')).map((row) =>
      String(row.project_id),
    );
  }

  async tiles(projectId: string, coordinates: Array<{ level: number; index: number }>): Promise<StoredTile[]> {
    if (coordinates.length === 0) return [];
    const pairs = coordinates.map(() => '(level = ? AND tile_index = ?)').join(' OR ');
    const rows = await this.sql.all(`SELECT level, tile_index, hashes FROM transparency_tiles WHERE project_id = ? AND (${pairs})`, [
      projectId,
      ...coordinates.flatMap((c) => [c.level, c.index]),
    ]);
    return rows.map((row) => ({ level: Number(row.level), index: Number(row.tile_index), hashes: String(row.hashes) }));
  }

  async putTiles(projectId: string, tiles: StoredTile[]) {
    for (const tile of tiles) {
      await this.sql.run(
        `INSERT INTO transparency_tiles (project_id, level, tile_index, hashes) VALUES (?, ?, ?, ?)
         ON CONFLICT (project_id, level, tile_index) DO UPDATE SET hashes = excluded.hashes`,
        [projectId, tile.level, tile.index, tile.hashes],
      );
    }
  }
}
