/** Device-list versions on the embedded store (transactions run one at a time, so an upsert is enough). */
import type { DeviceListRepository, DeviceListState } from '../types.ts';
import type { SqlTx } from './durable-database.ts';

export class SqlJsDeviceLists implements DeviceListRepository {
  constructor(private readonly sql: SqlTx) {}

  async get(projectId: string, userId: string): Promise<DeviceListState | undefined> {
    const row = this.sql.get('SELECT version, expiries_seen_at FROM device_lists WHERE project_id = ? AND user_id = ?', [projectId, userId]);
    return row && { version: Number(row.version), expiriesSeenAt: row.expiries_seen_at === null ? null : String(row.expiries_seen_at) };
  }

  async bump(projectId: string, userId: string, expiriesSeenAt: string): Promise<number> {
    this.sql.run(
      `INSERT INTO device_lists (project_id, user_id, version, expiries_seen_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (project_id, user_id) DO UPDATE SET version = version + 1,
         expiries_seen_at = MAX(COALESCE(expiries_seen_at, ''), excluded.expiries_seen_at)`,
      [projectId, userId, expiriesSeenAt],
    );
    return (await this.get(projectId, userId))!.version;
  }
}
