/**
 * Which storage backend tests run on: PREKEYD_TEST_BACKEND = sqljs (default) | pglite | postgres
 * (postgres needs PREKEYD_TEST_PG_URL). Every store opened here is fresh: a temp directory for
 * sqljs, a new schema for pglite (one in-process PGlite per test file) and for postgres.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createPgPoolDriver } from '../../src/store/postgres/pg-driver.ts';
import { createPgliteDriver } from '../../src/store/postgres/pglite-driver.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { PgDriver } from '../../src/store/postgres/query-client.ts';
import { dataTables } from '../../src/store/postgres/schema.ts';
import { loadSqlJs } from '../../src/store/sqljs/load-sqljs.ts';
import { openSqlJsStore } from '../../src/store/sqljs/sqljs-store.ts';
import type { Store } from '../../src/store/types.ts';

export type TestBackend = 'sqljs' | 'pglite' | 'postgres';

export const testPgUrl: string | undefined = process.env.PREKEYD_TEST_PG_URL || undefined;

function selectedBackend(): TestBackend {
  const value = process.env.PREKEYD_TEST_BACKEND || 'sqljs';
  if (value !== 'sqljs' && value !== 'pglite' && value !== 'postgres') throw new Error(`PREKEYD_TEST_BACKEND=${value}: use sqljs, pglite or postgres`);
  if (value === 'postgres' && !testPgUrl) throw new Error('PREKEYD_TEST_BACKEND=postgres needs PREKEYD_TEST_PG_URL');
  return value;
}

export const testBackend: TestBackend = selectedBackend();

/**
 * The backends the store-level tests (contract, instances) run on: both in-process ones in the
 * default project, the real server in the `postgres` project (so each runs once per `vitest run`).
 */
export const availableBackends: TestBackend[] = testBackend === 'postgres' ? ['postgres'] : ['sqljs', 'pglite'];

export interface TestStore {
  store: Store;
  /** Closes the store and removes its data (unless `keep`). */
  dispose(): Promise<void>;
}

export interface OpenTestStoreOptions {
  /** sqljs: the database file. pglite/postgres: names the schema, so reopening finds the same data. */
  path: string;
  /** Keep the data after dispose (a later open of the same path continues with it). */
  keep?: boolean;
}

const schemaFor = (path: string): string => `t_${createHash('sha256').update(path).digest('hex').slice(0, 20)}`;
export const freshSchemaName = (): string => `t_${randomBytes(10).toString('hex')}`;

export async function openTestStore(backend: TestBackend, options: OpenTestStoreOptions): Promise<TestStore> {
  if (backend === 'sqljs') {
    const store = await openSqlJsStore({ path: options.path });
    return { store, dispose: () => store.close() };
  }
  const schema = schemaFor(options.path);
  const driver = backend === 'pglite' ? createPgliteDriver(await sharedPGlite(), schema) : await createPgPoolDriver({ url: testPgUrl!, poolSize: 4, schema });
  await createSchema(driver, schema);
  if (backend === 'postgres') serverSchemas.add(schema);
  const store = await openPostgresStore(driver);
  return {
    store,
    async dispose() {
      await store.close();
      if (!options.keep) await dropSchema(backend, schema);
    },
  };
}

/** Schemas this process created on the PostgreSQL server (kept ones included). */
const serverSchemas = new Set<string>();

/** Drops what tests left on the server (kept or never disposed); backend-setup.ts calls it after each file. */
export async function dropLeftoverSchemas(): Promise<void> {
  if (serverSchemas.size === 0) return;
  const names = [...serverSchemas];
  serverSchemas.clear();
  await withAdmin(async (client) => {
    for (const name of names) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  });
}

async function createSchema(driver: PgDriver, schema: string): Promise<void> {
  try {
    await driver.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    // Two stores creating the same schema at once: the loser sees a duplicate; the schema exists.
    if ((error as { code?: string }).code !== '23505' && (error as { code?: string }).code !== '42P06') throw error;
  }
}

async function dropSchema(backend: TestBackend, schema: string): Promise<void> {
  const statement = `DROP SCHEMA IF EXISTS "${schema}" CASCADE`;
  if (backend === 'pglite') await createPgliteDriver(await sharedPGlite()).query(statement);
  else await withAdmin((client) => client.query(statement));
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPgUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A postgres:// URL for a spawned server on a fresh schema of PREKEYD_TEST_PG_URL (the schema is
 * selected through libpq's `options` parameter, so the server needs no test-only flag).
 */
export async function freshServerDbUrl(): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  if (!testPgUrl) throw new Error('PREKEYD_TEST_PG_URL is not set');
  const schema = freshSchemaName();
  await withAdmin((client) => client.query(`CREATE SCHEMA "${schema}"`));
  const url = new URL(testPgUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), schema, drop: () => withAdmin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined) };
}

/** Runs `statement` in the schema of a PostgreSQL test store, outside prekeyd. */
async function inSchema(backend: 'pglite' | 'postgres', path: string, statement: string, params: Array<string | number> = []) {
  const schema = schemaFor(path);
  if (backend === 'pglite') return createPgliteDriver(await sharedPGlite(), schema).query(statement, params);
  return withAdmin(async (client) => {
    await client.query(`SET search_path TO "${schema}"`);
    const result = await client.query(statement, params);
    return { rows: result.rows as Array<Record<string, unknown>>, rowCount: result.rowCount ?? 0 };
  });
}

/**
 * Changes the stored data of a closed test store directly, as an attacker with access to the
 * database would: one statement in the SQL both backends speak, with `?` placeholders.
 * Returns the number of rows changed.
 */
export async function alterStoredData(path: string, statement: string, params: Array<string | number> = []): Promise<number> {
  if (testBackend === 'sqljs') {
    const SQL = await loadSqlJs();
    const db = new SQL.Database(readFileSync(path));
    try {
      db.run(statement, params);
      const changed = db.getRowsModified();
      writeFileSync(path, db.export());
      return changed;
    } finally {
      db.close();
    }
  }
  let index = 0;
  return (
    await inSchema(
      testBackend,
      path,
      statement.replace(/\?/g, () => `$${++index}`),
      params,
    )
  ).rowCount;
}

/**
 * Everything the store of a test app (createTestApp without dbPath) holds at rest: the files
 * under its directory (embedded), or every row of its schema as text (PostgreSQL).
 */
export async function storedContents(dir: string): Promise<Buffer[]> {
  if (testBackend === 'sqljs') {
    const filesUnder = (folder: string): string[] =>
      readdirSync(folder).flatMap((name) => (statSync(join(folder, name)).isDirectory() ? filesUnder(join(folder, name)) : [join(folder, name)]));
    return filesUnder(dir).map((path) => readFileSync(path));
  }
  const contents: Buffer[] = [];
  for (const table of dataTables) {
    const { rows } = await inSchema(testBackend, join(dir, 'prekeyd.db'), `SELECT t::text AS row FROM ${table} t`);
    contents.push(Buffer.from(rows.map((row) => String(row.row)).join('\n')));
  }
  return contents;
}

let pglite: Promise<PGlite> | undefined;

/** One PGlite per test file (process); stores get their own schemas on it. */
export function sharedPGlite(): Promise<PGlite> {
  pglite ??= startPGlite();
  return pglite;
}

/**
 * Initialising a PGlite cluster takes seconds; loading a saved fresh data directory well under
 * one. The first test file to need it saves one in the temp directory for the others.
 */
async function startPGlite(): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const version = (JSON.parse(readFileSync(join(import.meta.dirname, '../../node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string })
    .version;
  const cache = join(tmpdir(), `prekeyd-pglite-${version}-datadir.tar`);
  try {
    const db = new PGlite({ loadDataDir: new Blob([readFileSync(cache)]) });
    await db.waitReady;
    return db;
  } catch {
    // no usable cached directory: initialise one
  }
  const db = new PGlite();
  await db.waitReady;
  try {
    const dump = await db.dumpDataDir('none');
    const temporary = `${cache}.${process.pid}.tmp`;
    writeFileSync(temporary, new Uint8Array(await dump.arrayBuffer()));
    renameSync(temporary, cache);
  } catch {
    // caching is only an optimisation
  }
  return db;
}
