/**
 * Device-list versions on PostgreSQL. The upsert locks the user's row until COMMIT, so two
 * instances changing one user's devices take turns and versions follow commit order.
 */
import type { DeviceListRepository, DeviceListState } from '../types.ts';
import { first, type TxContext } from './tx-context.ts';

export class PgDeviceLists implements DeviceListRepository {
  constructor(private readonly ctx: TxContext) {}

  async get(projectId: string, userId: string): Promise<DeviceListState | undefined> {
    const row = await first(this.ctx.client, 'SELECT version, expiries_seen_at FROM device_lists WHERE project_id = $1 AND user_id = $2', [
      projectId,
      userId,
    ]);
    return row && { version: Number(row.version), expiriesSeenAt: row.expiries_seen_at === null ? null : String(row.expiries_seen_at) };
  }

  async bump(projectId: string, userId: string, expiriesSeenAt: string): Promise<number> {
    const row = await first(
      this.ctx.client,
      `INSERT INTO device_lists (project_id, user_id, version, expiries_seen_at) VALUES ($1, $2, 1, $3)
       ON CONFLICT (project_id, user_id) DO UPDATE SET version = device_lists.version + 1,
         expiries_seen_at = GREATEST(device_lists.expiries_seen_at, excluded.expiries_seen_at)
       RETURNING version`,
      [projectId, userId, expiriesSeenAt],
    );
    return Number(row!.version);
  }
}
