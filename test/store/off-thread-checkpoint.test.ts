/** Checkpoints of a large database build their image in a worker: commits go on meanwhile, and the file holds exactly the state. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type CheckpointInfo, DurableDatabase } from '../../src/store/sqljs/durable-database.ts';
import { loadSqlJs } from '../../src/store/sqljs/load-sqljs.ts';
import { readWholeFile } from '../../src/store/sqljs/journal.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function openDatabase(offThreadImageBytes: number): Promise<{ db: DurableDatabase; path: string; checkpoints: CheckpointInfo[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'prekeyd-offthread-'));
  dirs.push(dir);
  const path = join(dir, 'db.sqlite');
  const checkpoints: CheckpointInfo[] = [];
  const db = await DurableDatabase.open({ path, offThreadImageBytes, onCheckpoint: (info) => checkpoints.push(info) });
  await db.transaction((tx) => tx.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)'));
  // ~8 MB in 40 transactions, so the image takes a while to build.
  for (let batch = 0; batch < 40; batch++) {
    await db.transaction((tx) => {
      for (let i = 0; i < 200; i++) tx.run('INSERT INTO t (v) VALUES (?)', [`${batch}:${i}:${'x'.repeat(1000)}`]);
    });
  }
  checkpoints.length = 0; // the one that made the first snapshot at open
  return { db, path, checkpoints };
}

/**
 * Starts a checkpoint and commits one row at a time until it resolves. Returns every row committed, and
 * how many of those commits were answered while the checkpoint was still running.
 */
async function commitsDuringCheckpoint(db: DurableDatabase): Promise<{ committed: number; answeredDuring: number }> {
  let done = false;
  const checkpoint = db.checkpoint().then(() => (done = true));
  let committed = 0;
  let answeredDuring = 0;
  while (!done && committed < 200) {
    await db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', [`during:${committed}`]));
    committed++;
    if (!done) answeredDuring++;
  }
  await checkpoint;
  return { committed, answeredDuring };
}

async function rowsIn(image: Uint8Array): Promise<{ count: number; lsn: number }> {
  const SQL = await loadSqlJs();
  const copy = new SQL.Database(image);
  const count = Number(copy.exec('SELECT COUNT(*) FROM t')[0]!.values[0]![0]);
  const lsn = Number(copy.exec("SELECT value FROM _durable_meta WHERE key = 'lsn'")[0]!.values[0]![0]);
  copy.close();
  return { count, lsn };
}

it('commits go on while a worker builds the image, and the snapshot holds exactly the state at the checkpoint', async () => {
  const { db, path, checkpoints } = await openDatabase(0);
  const lsnBefore = db.stats().lsn;
  const { committed, answeredDuring } = await commitsDuringCheckpoint(db);
  expect(checkpoints).toMatchObject([{ image: 'worker' }]);
  expect(checkpoints[0]!.workerError).toBeUndefined();
  expect(answeredDuring).toBeGreaterThan(0);
  // The image is the state at the checkpoint's LSN, built from the files: every row up to it, none after.
  const snapshot = await rowsIn(await readWholeFile(path));
  expect(snapshot.lsn).toBe(checkpoints[0]!.lsn);
  expect(snapshot.lsn).toBeGreaterThanOrEqual(lsnBefore);
  expect(snapshot.count).toBe(40 * 200 + (snapshot.lsn - lsnBefore));
  expect(db.stats().snapshotBytes).toBeGreaterThan(8_000_000);

  // The commits made meanwhile are in the journal after the snapshot: a reopen has them all.
  await db.close();
  const reopened = await DurableDatabase.open({ path });
  const rows = await reopened.transaction((tx) => tx.all<{ n: number }>("SELECT COUNT(*) AS n FROM t WHERE v LIKE 'during:%'"));
  expect(rows[0]!.n).toBe(committed);
  await reopened.close();
});

it('exports in place below the size threshold, and when closing', async () => {
  const { db, path, checkpoints } = await openDatabase(1024 * 1024 * 1024);
  await commitsDuringCheckpoint(db);
  expect(checkpoints).toMatchObject([{ image: 'in place' }]);
  await db.close();
  const small = await DurableDatabase.open({ path, offThreadImageBytes: 0, onCheckpoint: (info) => checkpoints.push(info) });
  await small.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['last']));
  await small.close();
  // The explicit checkpoint, then both closes (the second with a threshold of 0).
  expect(checkpoints.map((c) => c.image)).toEqual(['in place', 'in place', 'in place']);
});
