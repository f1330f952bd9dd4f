/**
 * `prekeyd migrate --from FILE --to postgres://…`: moves an embedded deployment onto PostgreSQL
 * and checks the result (row counts per table, every project's audit chain). Stop the server
 * first: writes made after the copy starts are not migrated.
 *
 * @example
 * prekeyd migrate --from ./prekeyd-data/prekeyd.db --to postgres://prekeyd@db.internal/prekeyd
 */
import { stat } from 'node:fs/promises';
import process from 'node:process';
import { ConfigError } from '../config.ts';
import { verifyAuditChain } from '../domain/audit.ts';
import { defaultDomainSettings, systemClock } from '../domain/deps.ts';
import { isPostgresUrl } from '../store/open-store.ts';
import { redactCredentials } from '../redact.ts';
import { createPgPoolDriver } from '../store/postgres/pg-driver.ts';
import { importEmbedded, sameChain, TargetNotEmptyError } from '../store/postgres/import-embedded.ts';
import { parseCommandLine } from './args.ts';
import { migrateUsage } from './help.ts';
import { progressLine, type ProgressStream } from './progress.ts';
import type { Store } from '../store/types.ts';

/** The domain's audit-chain verification of one project, which the import runs on the source and the copy. */
export const verifyProjectAuditChain = (store: Store, projectId: string) =>
  verifyAuditChain({ store, settings: defaultDomainSettings, clock: systemClock }, projectId);

/** The URL without its password, for printing. */
const shown = (url: string): string => redactCredentials(url);

export async function runMigrate(argv: string[], out = (line: string) => console.log(line), progressStream: ProgressStream = process.stderr): Promise<number> {
  const { extra, positionals } = parseCommandLine(argv, { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' } });
  const { from, to, force } = extra;
  if (typeof from !== 'string' || typeof to !== 'string' || positionals.length > 0) throw new ConfigError(migrateUsage);
  if (isPostgresUrl(from)) throw new ConfigError('--from is the embedded database file to copy');
  if (!isPostgresUrl(to)) throw new ConfigError('--to must be a postgres:// or postgresql:// URL');
  if (!(await stat(from).catch(() => undefined))?.isFile()) throw new ConfigError(`--from: no embedded database at ${from}`);

  out(`Migrating ${from} to ${shown(to)}`);
  let report: Awaited<ReturnType<typeof importEmbedded>>;
  // The per-table counts are in the summary; while copying, a live line on a terminal only.
  const progress = progressLine(progressStream);
  try {
    const target = await createPgPoolDriver({ url: to, poolSize: 2 });
    report = await importEmbedded({
      from,
      to: target,
      force: force === true,
      verifyAuditChain: verifyProjectAuditChain,
      onRows: ({ table, rows, totalRows, bytes }) => progress.update({ step: `copying ${table}`, rows, totalRows, bytes }),
    });
  } catch (error) {
    if (error instanceof TargetNotEmptyError) {
      console.error(`prekeyd migrate: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    progress.finish();
  }

  out('');
  out(`${'table'.padEnd(24)} ${'source'.padStart(10)} ${'target'.padStart(10)}`);
  for (const row of report.tables) {
    out(`${row.table.padEnd(24)} ${String(row.source).padStart(10)} ${String(row.target).padStart(10)}${row.source === row.target ? '' : '  MISMATCH'}`);
  }
  out('');
  for (const { projectId, source, target } of report.audit) {
    const state = target.valid ? 'valid' : `BROKEN at entry ${target.brokenAt}`;
    const match = sameChain(source, target) ? 'as in the source' : 'DIFFERENT from the source';
    out(`audit chain of project ${projectId}: ${target.entries} entries, head ${target.headHash.slice(0, 16)}…, ${state}, ${match}`);
    if (!source.valid) out(`  warning: the source chain of ${projectId} was already broken; it was copied as is`);
  }
  if (report.audit.length === 0) out('audit log: empty');
  out('');
  out(report.ok ? 'Migration complete: counts and audit chains verified.' : 'Migration FAILED verification: see above.');
  return report.ok ? 0 : 1;
}
