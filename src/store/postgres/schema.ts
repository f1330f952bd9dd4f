/**
 * Applies the PostgreSQL migrations (described with the embedded ones in sql/schema.ts) and
 * lists the data tables.
 */
import { postgresMigrations as migrations } from '../sql/schema.ts';
import type { QueryClient } from './query-client.ts';

/** Tables holding prekeyd data, in an order safe for copying (no foreign keys are declared). */
export const dataTables = [
  'key_sets',
  'signed_pre_key_history',
  'one_time_pre_keys',
  'backups',
  'sessions',
  'audit_log',
  'events',
  'event_heads',
  'api_keys',
  'public_keys',
  'settings',
  'device_lists',
  'transparency_logs',
  'transparency_leaves',
  'transparency_tiles',
] as const;

// Any constant works; it only has to be the same for every instance of prekeyd.
const migrationLockKey = 7_301_424_019;

export class SchemaTooNewError extends Error {}

/**
 * Applies pending migrations, one transaction each. A session-level advisory lock makes
 * instances starting at the same time wait for each other instead of migrating twice.
 */
export async function migrate(client: QueryClient): Promise<number> {
  await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT COLLATE "C" NOT NULL)`);
    const { rows } = await client.query<{ version: unknown }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
    let version = Number(rows[0]?.version ?? 0);
    if (version > migrations.length) {
      throw new SchemaTooNewError(`The database schema is at version ${version}, newer than this prekeyd knows (${migrations.length}); upgrade prekeyd.`);
    }
    for (; version < migrations.length; version++) {
      await client.query('BEGIN');
      try {
        for (const statement of migrations[version]!) await client.query(statement);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version + 1, new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
    return version;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
  }
}
