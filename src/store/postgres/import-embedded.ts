/**
 * Copies an embedded deployment into PostgreSQL (`prekeyd migrate`): every table as is (ids,
 * API key hashes, the audit log with its hashes, events with their ids, settings), in one
 * transaction, then sequences moved past every id the embedded store ever issued (so event
 * cursors held by clients stay valid), then a check of row counts and of each project's audit
 * chain against the source.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import { decodedBase64Length } from '../rows.ts';
import { blobDirectory } from '../sqljs/blob-files.ts';
import { DurableDatabase, type SqlParam, type SqlTx } from '../sqljs/durable-database.ts';
import { copyDatabaseOnline } from '../sqljs/online-copy.ts';
import { embeddedMigrations } from '../sql/schema.ts';
import { openSqlJsStore } from '../sqljs/sqljs-store.ts';
import type { Store } from '../types.ts';
import { openPostgresStore } from './postgres-store.ts';
import type { PgDriver, QueryClient, SqlValue } from './query-client.ts';
import { dataTables } from './schema.ts';

/** How each embedded table maps onto PostgreSQL: the rowid becomes `seq` where order depends on it. */
const tableCopies: Array<{ table: (typeof dataTables)[number]; rowidAs?: string; booleans?: string[]; sequence?: string }> = [
  { table: 'key_sets', sequence: 'id' },
  { table: 'signed_pre_key_history', rowidAs: 'seq', sequence: 'seq' },
  { table: 'one_time_pre_keys', sequence: 'id' },
  { table: 'backups' },
  { table: 'sessions' },
  { table: 'audit_log', sequence: 'id' },
  { table: 'events', sequence: 'id' },
  { table: 'api_keys', rowidAs: 'seq', booleans: ['revoked'], sequence: 'seq' },
  { table: 'public_keys', rowidAs: 'seq', sequence: 'seq' },
  { table: 'settings' },
  { table: 'device_lists' },
  // Copied as they are: the same leaves, tiles, keys and checkpoint, so the log carries on consistently.
  { table: 'transparency_logs' },
  { table: 'transparency_leaves' },
  { table: 'transparency_tiles' },
];

const pageRows = 500;

/** One project's audit chain as the domain's verification reports it (the store knows no hash chain). */
export interface AuditChainReport {
  valid: boolean;
  entries: number;
  headHash: string;
  /** The id of the first entry that does not chain, when invalid. */
  brokenAt?: number;
}

/** The copy verifies exactly as the source does (a chain broken in the source stays broken at the same entry). */
export const sameChain = (source: AuditChainReport, copied: AuditChainReport): boolean =>
  copied.valid === source.valid && copied.entries === source.entries && copied.headHash === source.headHash && copied.brokenAt === source.brokenAt;

export class TargetNotEmptyError extends Error {}

export interface ImportReport {
  tables: Array<{ table: string; source: number; target: number }>;
  audit: Array<{ projectId: string; source: AuditChainReport; target: AuditChainReport }>;
  ok: boolean;
}

export interface ImportOptions {
  from: string;
  /** The target database; closed when done. */
  to: PgDriver;
  /** Verifies one project's audit chain in a store: run on the source and on the copy (the caller's, cli/migrate.ts). */
  verifyAuditChain(store: Store, projectId: string): Promise<AuditChainReport>;
  /** Replace the prekeyd data of a non-empty target instead of refusing. */
  force?: boolean;
  progress?(line: string): void;
  /** Rows and (approximate) bytes copied so far, of the source's total rows, as the copy goes. */
  onRows?(figures: RowProgress): void;
}

export interface RowProgress {
  table: string;
  rows: number;
  totalRows: number;
  bytes: number;
}

export async function importEmbedded(options: ImportOptions): Promise<ImportReport> {
  const progress = options.progress ?? (() => undefined);
  if (!(await stat(options.from).catch(() => undefined))?.isFile()) {
    await options.to.close().catch(() => undefined);
    throw new Error(`No embedded database at ${options.from}`);
  }
  let work: string | undefined;
  let target: Store | undefined;
  try {
    work = await mkdtemp(join(tmpdir(), 'prekeyd-migrate-'));
    const copyPath = join(work, 'source.db');
    // A consistent copy, even if a server is still writing (its later writes are not migrated).
    await copyDatabaseOnline(options.from, copyPath);
    const driver = options.to;
    target = await openPostgresStore(driver); // applies the PostgreSQL schema
    const source = await DurableDatabase.open({ path: copyPath });
    let sourceCounts: Map<string, number>;
    try {
      await source.migrate(embeddedMigrations);
      sourceCounts = await copyTables(source, copyPath, driver, options.force ?? false, progress, options.onRows ?? (() => undefined));
    } finally {
      await source.close();
    }
    return await verify(copyPath, target, driver, sourceCounts, options.verifyAuditChain);
  } finally {
    await (target ?? options.to).close().catch(() => undefined); // closing the store closes its driver
    if (work) await rm(work, { recursive: true, force: true });
  }
}

/** PostgreSQL keeps backup blobs in the table: the embedded store's blob files go back inline. */
async function withInlineBlobs(page: Array<Record<string, SqlParam>>, databasePath: string): Promise<Array<Record<string, SqlParam>>> {
  const inlined = [];
  for (const { blob_checksum: checksum, ...row } of page) {
    if (typeof checksum === 'string') row.encrypted_bundle = encodeBase64(new Uint8Array(await readFile(join(blobDirectory(databasePath), checksum))));
    else row.size_bytes = decodedBase64Length(String(row.encrypted_bundle)); // a row written before blob files
    inlined.push(row);
  }
  return inlined;
}

/** Size of a row's values (text as its length, numbers as 8 bytes), for the progress display. */
const rowBytes = (row: Record<string, SqlParam>): number =>
  Object.values(row).reduce<number>((sum, value) => sum + (typeof value === 'string' ? value.length : 8), 0);

async function copyTables(
  source: DurableDatabase,
  copyPath: string,
  driver: PgDriver,
  force: boolean,
  progress: (line: string) => void,
  onRows: (figures: RowProgress) => void,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let totalRows = 0;
  for (const copy of tableCopies) totalRows += Number((await source.transaction((tx) => tx.get(`SELECT COUNT(*) AS n FROM ${copy.table}`)))?.n ?? 0);
  let rows = 0;
  let bytes = 0;
  await driver.withClient(async (client) => {
    await client.query('BEGIN');
    try {
      await prepareTarget(client, force);
      for (const copy of tableCopies) {
        let copied = 0;
        for (let offset = 0; ; offset += pageRows) {
          const page = await source.transaction((tx) =>
            tx.all(`SELECT rowid AS "__rowid", * FROM ${copy.table} ORDER BY rowid LIMIT ? OFFSET ?`, [pageRows, offset]),
          );
          if (page.length > 0) await insertRows(client, copy, copy.table === 'backups' ? await withInlineBlobs(page, copyPath) : page);
          copied += page.length;
          rows += page.length;
          for (const row of page) bytes += rowBytes(row);
          onRows({ table: copy.table, rows, totalRows, bytes });
          if (page.length < pageRows) break;
        }
        counts.set(copy.table, copied);
        progress(`copied ${copied} rows of ${copy.table}`);
      }
      await client.query('INSERT INTO event_heads (project_id, last_id) SELECT project_id, MAX(id) FROM events GROUP BY project_id');
      const issued = await source.transaction((tx) => highestIssuedIds(tx));
      for (const copy of tableCopies) {
        if (!copy.sequence) continue;
        const floor = issued.get(copy.table) ?? 0;
        await client.query(
          `SELECT setval(pg_get_serial_sequence('${copy.table}', '${copy.sequence}'), GREATEST(COALESCE((SELECT MAX(${copy.sequence}) FROM ${copy.table}), 0), $1::bigint, 1), GREATEST(COALESCE((SELECT MAX(${copy.sequence}) FROM ${copy.table}), 0), $1::bigint) > 0)`,
          [floor],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
  return counts;
}

async function prepareTarget(client: QueryClient, force: boolean): Promise<void> {
  const nonEmpty: string[] = [];
  for (const table of dataTables) {
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${table}) AS present`);
    if (rows[0]?.present === true) nonEmpty.push(table);
  }
  if (nonEmpty.length === 0) return;
  if (!force) {
    throw new TargetNotEmptyError(`The target database already holds prekeyd data (${nonEmpty.join(', ')}); pass --force to replace it.`);
  }
  await client.query(`TRUNCATE ${dataTables.join(', ')} RESTART IDENTITY`);
}

/** AUTOINCREMENT never reuses an id, even of deleted rows: sqlite_sequence remembers the highest issued. */
function highestIssuedIds(tx: SqlTx): Map<string, number> {
  const exists = tx.get(`SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'`);
  const issued = new Map<string, number>();
  if (!exists) return issued;
  for (const row of tx.all<{ name: SqlParam; seq: SqlParam }>('SELECT name, seq FROM sqlite_sequence')) issued.set(String(row.name), Number(row.seq));
  return issued;
}

async function insertRows(client: QueryClient, copy: (typeof tableCopies)[number], page: Array<Record<string, SqlParam>>): Promise<void> {
  const columns = Object.keys(page[0]!).filter((column) => column !== '__rowid');
  const targetColumns = copy.rowidAs ? [...columns, copy.rowidAs] : columns;
  const params: SqlValue[] = [];
  const tuples = page.map((row) => {
    const values = columns.map((column) => {
      const value = row[column] ?? null;
      if (copy.booleans?.includes(column)) return Number(value) === 1;
      return value;
    });
    if (copy.rowidAs) values.push(Number(row.__rowid));
    const start = params.length;
    params.push(...(values as SqlValue[]));
    return `(${values.map((_, index) => `$${start + index + 1}`).join(', ')})`;
  });
  await client.query(`INSERT INTO ${copy.table} (${targetColumns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
}

async function verify(
  copyPath: string,
  target: Store,
  driver: PgDriver,
  sourceCounts: Map<string, number>,
  verifyAuditChain: ImportOptions['verifyAuditChain'],
): Promise<ImportReport> {
  const tables: ImportReport['tables'] = [];
  for (const [table, source] of sourceCounts) {
    const { rows } = await driver.query(`SELECT COUNT(*) AS n FROM ${table}`);
    tables.push({ table, source, target: Number(rows[0]?.n ?? 0) });
  }
  const { rows } = await driver.query('SELECT DISTINCT project_id FROM audit_log ORDER BY project_id');
  const projects = rows.map((row) => String(row.project_id));
  const sourceStore = await openSqlJsStore({ path: copyPath });
  const audit: ImportReport['audit'] = [];
  try {
    for (const projectId of projects) {
      audit.push({ projectId, source: await verifyAuditChain(sourceStore, projectId), target: await verifyAuditChain(target, projectId) });
    }
  } finally {
    await sourceStore.close();
  }
  const ok = tables.every((row) => row.source === row.target) && audit.every(({ source, target: copied }) => sameChain(source, copied));
  return { tables, audit, ok };
}
