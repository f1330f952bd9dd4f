import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableDatabase, StorageUnavailableError } from '../../src/store/sqljs/durable-database.ts';
import type { DurableDatabaseOptions } from '../../src/store/sqljs/durable-database.ts';
import type { FlushInfo } from '../../src/store/sqljs/journal-writer.ts';
import { loadSqlJs } from '../../src/store/sqljs/load-sqljs.ts';
import { crashSchema } from './crash-child.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const HAS_SQLITE3_CLI = spawnSync('sqlite3', ['-version']).status === 0;

const tempDirs: string[] = [];
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prekeyd-durable-'));
  tempDirs.push(dir);
  return dir;
}

/** Simulates a crash of this instance: its files stay exactly as they are, it never writes again. */
async function abandon(db: DurableDatabase): Promise<void> {
  await (db as unknown as { journal: { handle: FileHandle } }).journal.handle.close();
}

async function journalFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /\.journal\.\d+$/.test(name)).sort(byGeneration);
}

function byGeneration(a: string, b: string): number {
  return Number(a.split('.').pop()) - Number(b.split('.').pop());
}

async function activeJournal(dir: string): Promise<string> {
  const files = await journalFiles(dir);
  return join(dir, files[files.length - 1]!);
}

async function openWithTable(path: string, extra: Partial<DurableDatabaseOptions> = {}): Promise<DurableDatabase> {
  const db = await DurableDatabase.open({ path, ...extra });
  await db.transaction((tx) => tx.run('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)'));
  return db;
}

async function values(db: DurableDatabase): Promise<string[]> {
  return db.transaction((tx) => tx.all<{ v: string }>('SELECT v FROM t ORDER BY id').map((r) => r.v));
}

function insert(db: DurableDatabase, v: string): Promise<number> {
  return db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', [v]).lastInsertRowid);
}

function sqlite3(file: string, sql: string): string {
  const out = spawnSync('sqlite3', [file, sql], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stdout.trim();
}

describe('DurableDatabase: round trip', () => {
  it('keeps data across close and reopen, leaving a plain SQLite file and no journal', async () => {
    const dir = await tempDir();
    const path = join(dir, 'sub', 'db.sqlite'); // the directory is created
    const db = await openWithTable(path);
    expect(db.isOpen).toBe(true);
    for (const v of ['a', 'b', 'c']) await insert(db, v);
    await db.close();
    expect(db.isOpen).toBe(false);
    await expect(db.transaction(() => 1)).rejects.toThrow(/closed/);
    expect(await readdir(join(dir, 'sub'))).toEqual(['db.sqlite']);

    // The snapshot alone is an ordinary SQLite database.
    const SQL = await loadSqlJs();
    const plain = new SQL.Database(readFileSync(path));
    expect(plain.exec('SELECT v FROM t ORDER BY id')[0]!.values).toEqual([['a'], ['b'], ['c']]);
    plain.close();
    if (HAS_SQLITE3_CLI) {
      expect(sqlite3(path, 'PRAGMA integrity_check')).toBe('ok');
      expect(sqlite3(path, 'SELECT group_concat(v) FROM t')).toBe('a,b,c');
    }

    const again = await DurableDatabase.open({ path });
    expect(await values(again)).toEqual(['a', 'b', 'c']);
    await again.close();
  });

  it('keeps every acknowledged transaction when the process dies without close', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => insert(db, `v${i}`)));
    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect(await values(again)).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    await insert(again, 'after');
    await abandon(again);
    const third = await DurableDatabase.open({ path });
    expect((await values(third)).length).toBe(51);
    await third.close();
  });
});

interface ChildRun {
  lines: string[];
  stderr: string;
}

/** Runs crash-child.ts and SIGKILLs it `killAfterMs` after it is ready. */
function runChild(mode: 'insert' | 'take', path: string, cycle: number, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, path, String(cycle)], {
      cwd: REPO,
      env: { ...process.env, DURABLE_CRASH_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!killTimer && stdout.includes('ready\n')) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(killTimer);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited with ${code}: ${stderr}`));
      const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1); // a torn last line was never acked
      resolve({ lines: complete.split('\n').filter(Boolean), stderr });
    });
  });
}

/** Opens a copy of the crashed files, so that the next child recovers the crash state itself. */
async function openCopy(dir: string, name: string): Promise<DurableDatabase> {
  const copy = await tempDir();
  await cp(dir, copy, { recursive: true });
  return DurableDatabase.open({ path: join(copy, name) });
}

describe('DurableDatabase: kill -9', () => {
  it('never loses an acknowledged insert across repeated SIGKILLs', async () => {
    const dir = await tempDir();
    const path = join(dir, 'db.sqlite');
    const acked = new Set<string>();
    for (let cycle = 0; cycle < 5; cycle++) {
      const run = await runChild('insert', path, cycle, 150 + Math.random() * 500);
      const ids = run.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
      expect(ids.length, run.stderr).toBeGreaterThan(0);
      for (const id of ids) acked.add(id);

      const db = await openCopy(dir, 'db.sqlite');
      const { rows, counter } = await db.transaction((tx) => ({
        rows: new Set(tx.all<{ id: string }>('SELECT id FROM items').map((r) => r.id)),
        counter: tx.get<{ value: number }>(`SELECT value FROM counters WHERE name = 'items'`)!.value,
      }));
      expect(counter).toBe(rows.size); // both writes of each transaction, or neither
      const missing = [...acked].filter((id) => !rows.has(id));
      expect(missing).toEqual([]);
      console.log(`insert crash cycle ${cycle}: ${ids.length} acked, ${rows.size} rows, ${JSON.stringify(db.stats())}`);
      await db.close();
    }
    const db = await DurableDatabase.open({ path });
    const count = await db.transaction((tx) => tx.get<{ n: number }>('SELECT count(*) AS n FROM items')!.n);
    expect(count).toBeGreaterThanOrEqual(acked.size);
    await db.close();
  }, 120_000);

  it('never hands out a queue row twice across repeated SIGKILLs', async () => {
    const dir = await tempDir();
    const path = join(dir, 'db.sqlite');
    const total = 50_000;
    const setup = await DurableDatabase.open({ path });
    await setup.migrate(crashSchema);
    await setup.transaction((tx) => {
      for (let id = 1; id <= total; id++) tx.run('INSERT INTO queue (id, label) VALUES (?, ?)', [id, `row ${id}`]);
    });
    await setup.close();

    const taken = new Set<number>();
    for (let cycle = 0; cycle < 5; cycle++) {
      const run = await runChild('take', path, cycle, 150 + Math.random() * 500);
      const ids = run.lines.filter((l) => l.startsWith('took ')).map((l) => Number(l.slice(5)));
      expect(ids.length, run.stderr).toBeGreaterThan(0);
      for (const id of ids) {
        expect(taken.has(id), `row ${id} handed out twice`).toBe(false);
        taken.add(id);
      }
      const db = await openCopy(dir, 'db.sqlite');
      const remaining = new Set(await db.transaction((tx) => tx.all<{ id: number }>('SELECT id FROM queue').map((r) => r.id)));
      const stillThere = [...taken].filter((id) => remaining.has(id));
      expect(stillThere).toEqual([]);
      expect(remaining.size + taken.size).toBeLessThanOrEqual(total);
      console.log(`take crash cycle ${cycle}: ${ids.length} taken, ${remaining.size} left`);
      await db.close();
    }
  }, 120_000);

  it('recovers exactly once from a crash at every I/O point, checkpoints included', async () => {
    const base = await tempDir();
    const dir = join(base, 'live');
    const acked: number[] = [];
    const points: { dir: string; acked: number[] }[] = [];
    let armed = false;
    const db = await DurableDatabase.open({
      path: join(dir, 'db.sqlite'),
      checkpointBytes: 1024,
      faults: {
        // Copying the files right before each write/fsync = the disk state of a crash at that moment.
        beforeWrite() {
          if (armed) {
            const copy = join(base, `crash-${points.length}`);
            cpSync(dir, copy, { recursive: true });
            points.push({ dir: copy, acked: [...acked] });
          }
          return undefined;
        },
      },
    });
    await db.transaction((tx) => tx.run('CREATE TABLE t (v INTEGER NOT NULL)')); // no key: duplicates would show
    armed = true;
    for (let i = 1; i <= 60; i++) {
      await db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', [i]));
      acked.push(i);
      if (i % 10 === 0) await db.checkpoint();
    }
    armed = false;
    await db.close();
    expect(points.length).toBeGreaterThan(120);

    for (const point of points) {
      const crashed = await DurableDatabase.open({ path: join(point.dir, 'db.sqlite') });
      const rows = await crashed.transaction((tx) => tx.all<{ v: number }>('SELECT v FROM t ORDER BY rowid').map((r) => r.v));
      // Exactly the acknowledged prefix, possibly plus the one transaction in flight; never a duplicate.
      expect(rows.slice(0, point.acked.length)).toEqual(point.acked);
      expect(rows.length).toBeLessThanOrEqual(point.acked.length + 1);
      expect(rows).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
      await crashed.close();
    }
  }, 60_000);
});

describe('DurableDatabase: torn or corrupt journal tail', () => {
  /** Ten committed inserts left in the journal by a crashed instance; returns each record's end offset. */
  async function crashedWithTen(): Promise<{ path: string; journal: string; ends: number[] }> {
    const dir = await tempDir();
    const path = join(dir, 'db.sqlite');
    const db = await openWithTable(path);
    const ends = [db.stats().journalBytes]; // ends[0]: after CREATE TABLE
    for (let i = 1; i <= 10; i++) {
      await insert(db, `v${i}`);
      ends.push(db.stats().journalBytes);
    }
    await abandon(db);
    const journal = await activeJournal(dir);
    expect((await stat(journal)).size).toBe(ends[10]);
    return { path, journal, ends };
  }

  const flip = (bytes: Buffer, at: number, mask: number) => bytes.writeUInt8(bytes.readUInt8(at) ^ mask, at);
  const first = (n: number) => Array.from({ length: n }, (_, i) => `v${i + 1}`);

  async function expectRecovered(path: string, expected: string[], journal: string, validEnd: number): Promise<void> {
    const db = await DurableDatabase.open({ path });
    expect(await values(db)).toEqual(expected);
    expect((await stat(journal)).size).toBe(validEnd); // the bad tail is cut off
    await insert(db, 'later'); // and later writes land after the valid prefix ...
    await abandon(db);
    const again = await DurableDatabase.open({ path }); // ... and survive another crash
    expect(await values(again)).toEqual([...expected, 'later']);
    await again.close();
  }

  it('ignores garbage appended after the last record', async () => {
    const { path, journal, ends } = await crashedWithTen();
    await appendFile(journal, Buffer.from('this is not a journal record, definitely not'));
    await expectRecovered(path, first(10), journal, ends[10]!);
  });

  it('ignores a zero-filled tail', async () => {
    const { path, journal, ends } = await crashedWithTen();
    await appendFile(journal, Buffer.alloc(4096));
    await expectRecovered(path, first(10), journal, ends[10]!);
  });

  it('drops a last record cut inside its header or its payload', async () => {
    for (const cut of [3, 12, -1]) {
      const { path, journal, ends } = await crashedWithTen();
      await truncate(journal, cut > 0 ? ends[9]! + cut : ends[10]! + cut);
      await expectRecovered(path, first(9), journal, ends[9]!);
    }
  });

  it('drops a last record with a flipped byte (payload, CRC or length)', async () => {
    for (const offset of [20, 5, 1]) {
      const { path, journal, ends } = await crashedWithTen();
      const bytes = await readFile(journal);
      flip(bytes, ends[9]! + offset, 0x40);
      await writeFile(journal, bytes);
      await expectRecovered(path, first(9), journal, ends[9]!);
    }
  });

  it('stops at a corrupt record in the middle (nothing after it can be applied)', async () => {
    const { path, journal, ends } = await crashedWithTen();
    const bytes = await readFile(journal);
    flip(bytes, ends[4]! + 20, 0x01); // inside the record of v5
    await writeFile(journal, bytes);
    await expectRecovered(path, first(4), journal, ends[4]!);
  });
});

describe('DurableDatabase: group commit', () => {
  it('shares fsyncs between concurrent transactions', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    let flushes = 0;
    let records = 0;
    const db = await openWithTable(path, {
      onFlush: (info) => {
        flushes++;
        records += info.records;
        expect(info.bytes).toBeGreaterThan(0);
        expect(info.ms).toBeGreaterThanOrEqual(0);
      },
    });
    flushes = records = 0;
    const started = performance.now();
    const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => insert(db, `row${i}`)));
    const ms = performance.now() - started;
    expect(new Set(ids).size).toBe(1000);
    expect(records).toBe(1000);
    expect(flushes).toBeLessThan(50);
    console.log(`group commit: 1000 concurrent transactions in ${ms.toFixed(0)} ms with ${flushes} fsyncs`);
    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect((await values(again)).length).toBe(1000);
    await again.close();
  });

  it('resolves a read-only transaction only once what it may have seen is durable', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    const order: string[] = [];
    const write = insert(db, 'x').then(() => order.push('write'));
    const read = db.transaction((tx) => tx.all('SELECT * FROM t')).then((rows) => order.push(`read ${rows.length}`));
    await Promise.all([write, read]);
    expect(order).toEqual(['write', 'read 1']);
    await db.close();
  });
});

describe('DurableDatabase: checkpoints and snapshots', () => {
  it('bounds the journal, keeps everything, and makes a usable online backup', async () => {
    const dir = await tempDir();
    const path = join(dir, 'db.sqlite');
    const checkpointBytes = 16 * 1024;
    const db = await openWithTable(path, { checkpointBytes });
    let maxJournal = 0;
    let shrinks = 0;
    let last = 0;
    let backup: Promise<void> | undefined;
    const backupPath = join(dir, 'backup', 'copy.sqlite');
    for (let batch = 0; batch < 60; batch++) {
      const writes = Array.from({ length: 50 }, (_, i) => insert(db, `${batch * 50 + i}:${'x'.repeat(100)}`));
      if (batch === 30) backup = db.snapshotTo(backupPath); // concurrently with writes
      await Promise.all(writes);
      const { journalBytes } = db.stats();
      maxJournal = Math.max(maxJournal, journalBytes);
      if (journalBytes < last) shrinks++;
      last = journalBytes;
    }
    await backup;
    const { snapshotBytes } = db.stats();
    console.log(`checkpoints: max journal ${maxJournal} B, snapshot ${snapshotBytes} B, ${shrinks} observed folds`);
    expect(shrinks).toBeGreaterThanOrEqual(3);
    expect(maxJournal).toBeLessThan(2 * Math.max(checkpointBytes, snapshotBytes) + 64 * 1024);
    expect((await journalFiles(dir)).length).toBeLessThanOrEqual(2);

    // The backup is a consistent prefix of the writes (transactions are serialised in call order).
    const copyDir = await tempDir();
    await cp(backupPath, join(copyDir, 'db.sqlite'));
    const copy = await DurableDatabase.open({ path: join(copyDir, 'db.sqlite') });
    const copied = (await values(copy)).map((v) => Number(v.split(':')[0]));
    expect(copied.length).toBeGreaterThanOrEqual(30 * 50);
    expect(copied).toEqual(Array.from({ length: copied.length }, (_, i) => i));
    await copy.close();
    if (HAS_SQLITE3_CLI) expect(sqlite3(backupPath, 'PRAGMA integrity_check')).toBe('ok');

    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect((await values(again)).length).toBe(3000);
    await again.close();
    expect(await journalFiles(dir)).toEqual([]);
  });

  it('checkpoints on demand and on close', async () => {
    const dir = await tempDir();
    const path = join(dir, 'db.sqlite');
    const db = await openWithTable(path);
    for (let i = 0; i < 20; i++) await insert(db, `v${i}`);
    expect(db.stats().journalBytes).toBeGreaterThan(0);
    const before = db.stats().snapshotBytes;
    await db.checkpoint();
    expect(db.stats().journalBytes).toBe(0);
    expect(db.stats().snapshotBytes).toBeGreaterThanOrEqual(before);
    await insert(db, 'last');
    await db.close();
    const SQL = await loadSqlJs();
    const plain = new SQL.Database(readFileSync(path));
    expect(plain.exec('SELECT count(*) FROM t')[0]!.values[0]![0]).toBe(21);
    plain.close();
  });
});

describe('DurableDatabase: storage failures', () => {
  const eio = () => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });

  it('rejects what is not durable, forgets it, and recovers without a restart', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    let failWrites = 0;
    let failFsyncs = 0;
    let failAll = false;
    const db = await openWithTable(path, {
      faults: {
        beforeWrite(kind) {
          if (failAll) return eio();
          if (kind === 'write' && failWrites > 0 && failWrites--) return eio();
          if (kind === 'fsync' && failFsyncs > 0 && failFsyncs--) return eio();
          return undefined;
        },
      },
    });
    await insert(db, 'a');
    await insert(db, 'b');
    const expected = ['a', 'b'];

    // A failed write: every transaction not yet durable at that moment is rejected.
    failWrites = 1;
    const settled = await Promise.allSettled(['c1', 'c2', 'c3', 'c4', 'c5'].map((v) => insert(db, v)));
    const rejected = settled.filter((s) => s.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(StorageUnavailableError);
      expect(r.reason.code).toBe('UNAVAILABLE');
    }
    settled.forEach((s, i) => s.status === 'fulfilled' && expected.push(`c${i + 1}`));
    expect(await values(db)).toEqual(expected);

    // A failed fsync after a successful write: the intact record must not come back later.
    failFsyncs = 1;
    await expect(insert(db, 'f')).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(await values(db)).toEqual(expected);
    await insert(db, 'g'); // same size as the lost record, written over it
    expected.push('g');

    // A transaction still running when storage fails cannot commit what it read. (The fsync fails
    // after a real asynchronous write, by which time the second transaction is inside its fn.)
    failFsyncs = 1;
    const doomed = insert(db, 'p');
    const reader = db.transaction(async (tx) => {
      const seen = tx.all('SELECT * FROM t').length;
      await new Promise((r) => setTimeout(r, 30));
      tx.run('INSERT INTO t (v) VALUES (?)', [`saw ${seen}`]);
    });
    await expect(doomed).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(reader).rejects.toBeInstanceOf(StorageUnavailableError);

    // A lasting outage: writes, reads (which must reload first) and checkpoints all fail.
    failAll = true;
    await expect(insert(db, 'h')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(values(db)).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(db.checkpoint()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(db.isOpen).toBe(true);
    failAll = false;
    expect(await values(db)).toEqual(expected);
    await insert(db, 'i');
    expected.push('i');

    // A failed checkpoint loses nothing either.
    failAll = true;
    await expect(db.checkpoint()).rejects.toBeInstanceOf(StorageUnavailableError);
    failAll = false;
    await insert(db, 'j');
    expected.push('j');
    expect(await values(db)).toEqual(expected);

    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect(await values(again)).toEqual(expected);
    await again.close();
    if (HAS_SQLITE3_CLI) expect(sqlite3(path, 'PRAGMA integrity_check')).toBe('ok');
  });
});

describe('DurableDatabase: transactions', () => {
  it('rolls back and journals nothing when fn throws', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    await insert(db, 'kept');
    const before = db.stats();
    await expect(
      db.transaction((tx) => {
        tx.run('INSERT INTO t (v) VALUES (?)', ['gone']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(
      db.transaction(async (tx) => {
        tx.run('INSERT INTO t (v) VALUES (?)', ['gone too']);
        await Promise.resolve();
        throw new Error('async boom');
      }),
    ).rejects.toThrow('async boom');
    expect(await values(db)).toEqual(['kept']);
    expect(db.stats()).toEqual(before);
    await db.close();
  });

  it('propagates SQLite errors, and a caught one does not spoil the rest of the transaction', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    const id = await insert(db, 'one');
    await expect(db.transaction((tx) => tx.run('INSERT INTO t (id, v) VALUES (?, ?)', [id, 'dup']))).rejects.toThrow(/UNIQUE constraint failed/);
    await expect(db.transaction((tx) => tx.all('SELECT nope FROM t'))).rejects.toThrow(/no such column/);
    await db.transaction((tx) => {
      expect(() => tx.run('INSERT INTO t (id, v) VALUES (?, ?)', [id, 'dup'])).toThrow(/UNIQUE/);
      tx.run('INSERT INTO t (v) VALUES (?)', ['two']);
    });
    // UPDATE OR FAIL keeps the rows it changed before failing: replay must reproduce that.
    await db.transaction((tx) => {
      tx.run('CREATE TABLE u (id INTEGER PRIMARY KEY, n INTEGER UNIQUE)');
      tx.run('INSERT INTO u (id, n) VALUES (1, 10), (2, 20), (3, 21)');
      expect(() => tx.run('UPDATE OR FAIL u SET n = n + 1')).toThrow(/UNIQUE/);
    });
    const u = await db.transaction((tx) => tx.all('SELECT id, n FROM u ORDER BY id'));
    expect(u).toEqual([
      { id: 1, n: 11 },
      { id: 2, n: 20 },
      { id: 3, n: 21 },
    ]);
    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect(await values(again)).toEqual(['one', 'two']);
    expect(await again.transaction((tx) => tx.all('SELECT id, n FROM u ORDER BY id'))).toEqual(u);
    await again.close();
  });

  it('reloads from disk when a statement ends the transaction itself (INSERT OR ROLLBACK)', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    const id = await insert(db, 'one');
    const inFlight = insert(db, 'two'); // its record is still on its way to disk during the reload
    const broken = db.transaction((tx) => {
      try {
        tx.run('INSERT OR ROLLBACK INTO t (id, v) VALUES (?, ?)', [id, 'dup']);
      } catch {
        // SQLite has rolled back the whole transaction; what follows runs in autocommit mode
      }
      tx.run('INSERT INTO t (v) VALUES (?)', ['autocommitted, never journaled']);
    });
    const after = values(db); // reloads from disk first
    await expect(broken).rejects.toThrow(/no transaction is active/);
    await inFlight;
    expect(await after).toEqual(['one', 'two']);
    await insert(db, 'three');
    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect(await values(again)).toEqual(['one', 'two', 'three']);
    await again.close();
  });

  it('journals writes made through get()/all() (DELETE ... RETURNING)', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    for (const v of ['a', 'b', 'c']) await insert(db, v);
    const taken = await db.transaction((tx) => tx.get<{ v: string }>('DELETE FROM t WHERE id = (SELECT min(id) FROM t) RETURNING v'));
    expect(taken).toEqual({ v: 'a' });
    const rest = await db.transaction((tx) => tx.all<{ v: string }>('DELETE FROM t WHERE v = ? RETURNING v', ['b']));
    expect(rest).toEqual([{ v: 'b' }]);
    await abandon(db);
    const again = await DurableDatabase.open({ path });
    expect(await values(again)).toEqual(['c']);
    await again.close();
  });

  it('refuses several statements in one call, unjournalable parameters, and use after the end', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const db = await openWithTable(path);
    await expect(db.transaction((tx) => tx.run(`INSERT INTO t (v) VALUES ('x'); DROP TABLE t`))).rejects.toThrow(/exactly one SQL statement/);
    await expect(db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', [Number.NaN]))).rejects.toThrow(TypeError);
    let leaked: { run(sql: string): unknown } | undefined;
    await db.transaction((tx) => {
      leaked = tx;
      tx.run(`INSERT INTO t (v) VALUES ('ok');  -- trailing comment is fine`);
    });
    expect(() => leaked!.run(`INSERT INTO t (v) VALUES ('late')`)).toThrow(/finished/);
    expect(await values(db)).toEqual(['ok']);
    await db.close();
  });

  it('applies migrations once each, across reopen', async () => {
    const path = join(await tempDir(), 'db.sqlite');
    const migrations = [['CREATE TABLE log (m INTEGER NOT NULL)', 'INSERT INTO log (m) VALUES (1)'], ['INSERT INTO log (m) VALUES (2)']];
    const db = await DurableDatabase.open({ path });
    await db.migrate(migrations);
    await db.migrate(migrations);
    await db.close();
    const again = await DurableDatabase.open({ path });
    await again.migrate([...migrations, ['ALTER TABLE log ADD COLUMN note TEXT', 'INSERT INTO log (m) VALUES (3)']]);
    await expect(again.migrate([migrations[0]!])).rejects.toThrow(/newer/);
    const logged = await again.transaction((tx) => tx.all<{ m: number }>('SELECT m FROM log ORDER BY m').map((r) => r.m));
    expect(logged).toEqual([1, 2, 3]);
    await again.close();
  });
});

describe('DurableDatabase: cost per write', () => {
  it('does the same work per commit whatever the database size: one fsync and the same journal bytes, no snapshot rewrite', async () => {
    const dir = await tempDir();
    const path = join(dir, 'db.sqlite');
    const flushes: FlushInfo[] = [];
    const db = await openWithTable(path, { onFlush: (info) => flushes.push(info) });
    const commits = 200;
    /** Disk work of `commits` sequential inserts: fsyncs and bytes per commit, and whether the snapshot was touched. */
    const measure = async () => {
      const before = { snapshot: await stat(path), journal: db.stats().journalBytes };
      flushes.length = 0;
      for (let i = 0; i < commits; i++) await insert(db, `measure ${i}`);
      const after = { snapshot: await stat(path), journal: db.stats().journalBytes };
      const written = flushes.reduce((sum, flush) => sum + flush.bytes, 0);
      return {
        fsyncsPerCommit: flushes.length / commits,
        recordsPerCommit: flushes.reduce((sum, flush) => sum + flush.records, 0) / commits,
        bytesPerCommit: written / commits,
        journalGrowth: after.journal - before.journal,
        written,
        snapshotRewritten: after.snapshot.mtimeMs !== before.snapshot.mtimeMs || after.snapshot.size !== before.snapshot.size,
        snapshotBytes: after.snapshot.size,
      };
    };
    for (let i = 0; i < 10; i++) await insert(db, `seed ${i}`);
    const small = await measure();
    for (let batch = 0; batch < 20; batch++) {
      await db.transaction((tx) => {
        for (let i = 0; i < 1000; i++) tx.run('INSERT INTO t (v) VALUES (?)', [`bulk ${batch}-${i} ${'y'.repeat(40)}`]);
      });
    }
    await db.checkpoint(); // the 20,000 rows are now in the snapshot, which a commit must not rewrite
    const large = await measure();
    await db.close();

    expect(large.snapshotBytes).toBeGreaterThan(50 * small.snapshotBytes);
    for (const run of [small, large]) {
      expect(run.snapshotRewritten).toBe(false);
      expect(run.fsyncsPerCommit).toBe(1);
      expect(run.recordsPerCommit).toBe(1);
      expect(run.journalGrowth).toBe(run.written); // onFlush reports what reached the file
    }
    // The journal record holds the statement and its parameters, not pages: a generous bound.
    expect(large.bytesPerCommit / small.bytesPerCommit).toBeLessThan(1.1);
    expect(large.bytesPerCommit).toBeLessThan(200);
  });
});
