/** `prekeyd snapshot --db FILE --out FILE`: a consistent copy of the embedded database, also while a server runs on it. */
import process from 'node:process';
import { configFromEnv, ConfigError, resolveConfig } from '../config.ts';
import { isPostgresUrl } from '../store/open-store.ts';
import { copyDatabaseOnline } from '../store/sqljs/online-copy.ts';
import { parseCommandLine } from './args.ts';
import { requireExistingDatabase } from './existing-database.ts';
import { progressLine, type ProgressStream } from './progress.ts';

export async function runSnapshot(argv: string[], progressStream: ProgressStream = process.stderr): Promise<number> {
  const { config: flags, extra } = parseCommandLine(argv, { out: { type: 'string' } });
  const { db } = resolveConfig(configFromEnv(process.env), flags);
  const out = extra.out;
  if (typeof out !== 'string' || out === '') throw new ConfigError('snapshot needs --out FILE');
  if (isPostgresUrl(db)) throw new ConfigError('snapshot copies the embedded database; for PostgreSQL use pg_dump');
  await requireExistingDatabase(db);
  const progress = progressLine(progressStream);
  try {
    await copyDatabaseOnline(db, out, 10, (bytes, totalBytes) =>
      progress.update({ step: bytes < totalBytes ? `copying ${db}` : `writing ${out}`, bytes, totalBytes }),
    );
  } finally {
    progress.finish();
  }
  console.log(`snapshot of ${db} written to ${out}; start a server with --db ${out} to restore it`);
  return 0;
}
