// The schema version is a row of the meta table, so migrations apply exactly once, in order,
// however many processes or transactions race to apply them.
import { META } from './recovery.ts';
import type { SqlTx } from './sql-tx.ts';

interface Transactional {
  transaction<T>(fn: (tx: SqlTx) => T | Promise<T>): Promise<T>;
}

/** Runs the migrations past the recorded schema version, each in its own transaction. */
export async function applyMigrations(db: Transactional, migrations: string[][]): Promise<void> {
  const version = (tx: SqlTx): number => Number(tx.get<{ value: number }>(`SELECT value FROM ${META} WHERE key = 'schema_version'`)?.value ?? 0);
  const current = await db.transaction(version);
  if (current > migrations.length) {
    throw new Error(`database schema version ${current} is newer than this code knows (${migrations.length})`);
  }
  for (let i = current; i < migrations.length; i++) {
    await db.transaction((tx) => {
      if (version(tx) !== i) return; // applied concurrently
      for (const sql of migrations[i]!) tx.run(sql);
      tx.run(`INSERT OR REPLACE INTO ${META}(key, value) VALUES ('schema_version', ?)`, [i + 1]);
    });
  }
}
