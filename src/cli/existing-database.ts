/** Offline commands work on a database that exists: a mistyped --db must not quietly create an empty one. */
import { stat } from 'node:fs/promises';
import { ConfigError } from '../config.ts';
import { isPostgresUrl } from '../store/open-store.ts';

export async function requireExistingDatabase(db: string, hint = ''): Promise<void> {
  if (isPostgresUrl(db)) return;
  const found = await stat(db).catch(() => undefined);
  if (!found?.isFile()) {
    throw new ConfigError(`--db: no database at ${db}: this command does not create one; check the path${hint}`);
  }
}
