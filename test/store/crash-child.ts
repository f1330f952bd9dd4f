// Child process for the crash tests: writes as fast as it can and prints every acknowledged
// transaction to stdout (synchronous on Linux pipes), until the parent SIGKILLs it.
// Runs only with DURABLE_CRASH_CHILD=1 (the test imports `crashSchema` from here).
//   insert <dbPath> <cycle>  insert rows `${cycle}-${worker}-${i}` (and bump a counter in the same tx)
//   take   <dbPath> <cycle>  take (delete) the oldest row of `queue` and print it
import { DurableDatabase } from '../../src/store/sqljs/durable-database.ts';

const [mode, path, cycle] = process.argv.slice(2) as [string, string, string];
const WORKERS = 8;

export const crashSchema: string[][] = [
  [
    'CREATE TABLE items (id TEXT PRIMARY KEY, worker INTEGER NOT NULL, payload TEXT NOT NULL)',
    'CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)',
    `INSERT INTO counters (name, value) VALUES ('items', 0)`,
    'CREATE TABLE queue (id INTEGER PRIMARY KEY, label TEXT NOT NULL)',
  ],
];

async function main(): Promise<void> {
  // A small checkpoint threshold so that kills also land in the middle of checkpoints.
  const db = await DurableDatabase.open({ path, checkpointBytes: 48 * 1024 });
  await db.migrate(crashSchema);
  process.stdout.write('ready\n');
  const workers = Array.from({ length: WORKERS }, async (_, worker) => {
    for (let i = 0; ; i++) {
      if (mode === 'insert') {
        const id = `${cycle}-${worker}-${i}`;
        await db.transaction((tx) => {
          tx.run('INSERT INTO items (id, worker, payload) VALUES (?, ?, ?)', [id, worker, 'x'.repeat(i % 200)]);
          tx.run(`UPDATE counters SET value = value + 1 WHERE name = 'items'`);
        });
        process.stdout.write(`ack ${id}\n`);
      } else {
        const row = await db.transaction((tx) => {
          const oldest = tx.get<{ id: number }>('SELECT id FROM queue ORDER BY id LIMIT 1');
          if (oldest) tx.run('DELETE FROM queue WHERE id = ?', [oldest.id]);
          return oldest;
        });
        if (!row) return;
        process.stdout.write(`took ${row.id}\n`);
      }
    }
  });
  await Promise.all(workers);
  process.stdout.write('done\n');
  setInterval(() => {}, 1000); // stay alive until killed
}

if (process.env.DURABLE_CRASH_CHILD === '1') {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  });
}
