/**
 * Device-list versions, for both backends. On PostgreSQL the upsert locks the user's row until
 * COMMIT, so two instances changing one user's devices take turns and versions follow commit order.
 */
import type { DeviceListRepository, DeviceListState } from '../types.ts';
import { textOrNull } from '../rows.ts';
import type { SqlRunner } from './runner.ts';

export class SqlDeviceLists implements DeviceListRepository {
  constructor(private readonly sql: SqlRunner) {}

  async get(projectId: string, userId: string): Promise<DeviceListState | undefined> {
    const row = await this.sql.get('SELECT version, expiries_seen_at FROM device_lists WHERE project_id = ? AND user_id = ?', [projectId, userId]);
    return row && { version: Number(row.version), expiriesSeenAt: textOrNull(row.expiries_seen_at) };
  }

  async bump(projectId: string, userId: string, expiriesSeenAt: string): Promise<number> {
    const latest = this.sql.dialect.greatest(`COALESCE(device_lists.expiries_seen_at, '')`, 'excluded.expiries_seen_at');
    const [row] = await this.sql.returning(
      `INSERT INTO device_lists (project_id, user_id, version, expiries_seen_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (project_id, user_id) DO UPDATE SET version = device_lists.version + 1, expiries_seen_at = ${latest}
       RETURNING version`,
      [projectId, userId, expiriesSeenAt],
    );
    return Number(row!.version);
  }
}
