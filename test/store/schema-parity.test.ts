/**
 * The schema is described once (src/store/sql/schema.ts) and the queries are shared, so both
 * backends must end up with the same tables and columns: PostgreSQL adds only its insertion-order
 * `seq` columns and its own tables, the embedded store only its blob-file reference.
 */
import { describe, expect, it } from 'vitest';
import { createPgliteDriver } from '../../src/store/postgres/pglite-driver.ts';
import { migrate } from '../../src/store/postgres/schema.ts';
import { embeddedMigrations } from '../../src/store/sql/schema.ts';
import { loadSqlJs } from '../../src/store/sqljs/load-sqljs.ts';
import { freshSchemaName, sharedPGlite } from '../helpers/backend.ts';

/** table → "column type NOT NULL?" lines, sorted; types as SQLite's affinities. */
type Columns = Record<string, string[]>;

async function embeddedColumns(): Promise<Columns> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    for (const statement of embeddedMigrations.flat()) db.run(statement);
    const tables = db.exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)[0]!.values.map(([name]) => String(name));
    const columns: Columns = {};
    for (const table of tables) {
      const info = db.exec(`PRAGMA table_info(${table})`)[0]!;
      const at = (name: string) => info.columns.indexOf(name);
      // A primary key is NOT NULL on PostgreSQL; SQLite reports an INTEGER PRIMARY KEY as nullable (it is the rowid).
      columns[table] = info.values.map((row) => `${row[at('name')]} ${row[at('type')]}${row[at('notnull')] || row[at('pk')] ? ' NOT NULL' : ''}`).sort();
    }
    return columns;
  } finally {
    db.close();
  }
}

async function postgresColumns(): Promise<Columns> {
  const schema = freshSchemaName();
  const driver = createPgliteDriver(await sharedPGlite(), schema);
  await driver.query(`CREATE SCHEMA "${schema}"`);
  try {
    await driver.withClient((client) => migrate(client));
    const { rows } = await driver.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      'SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1',
      [schema],
    );
    const affinity: Record<string, string> = { text: 'TEXT', integer: 'INTEGER', bigint: 'INTEGER', boolean: 'INTEGER' };
    const columns: Columns = {};
    for (const row of rows) {
      (columns[row.table_name] ??= []).push(`${row.column_name} ${affinity[row.data_type] ?? row.data_type}${row.is_nullable === 'NO' ? ' NOT NULL' : ''}`);
    }
    for (const table of Object.keys(columns)) columns[table]!.sort();
    return columns;
  } finally {
    await driver.query(`DROP SCHEMA "${schema}" CASCADE`);
  }
}

describe('the schema described once', () => {
  it('gives both backends the same tables and columns, but for what each keeps on its own', async () => {
    const [embedded, postgres] = await Promise.all([embeddedColumns(), postgresColumns()]);
    const withoutSeq = (columns: string[] | undefined) => columns?.filter((column) => column !== 'seq INTEGER NOT NULL');
    const postgresOnly = ['event_heads', 'rate_counters', 'schema_migrations'];
    expect(
      Object.keys(postgres)
        .filter((table) => !postgresOnly.includes(table))
        .sort(),
    ).toEqual(Object.keys(embedded).sort());
    for (const [table, columns] of Object.entries(embedded)) {
      const expected = table === 'backups' ? columns.filter((column) => column !== 'blob_checksum TEXT') : columns;
      expect(withoutSeq(postgres[table]), table).toEqual(expected);
    }
    expect(postgres.api_keys).toContain('seq INTEGER NOT NULL');
    expect(embedded.backups).toContain('blob_checksum TEXT');
  });
});
