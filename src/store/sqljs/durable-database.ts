// An in-memory SQLite database (sql.js) made durable by a logical write-ahead journal.
//
// On disk, beside each other:
//   path                  the snapshot: a plain SQLite file holding the state up to LSN `_durable_meta.lsn`
//   path.journal.<gen>    journal files (see journal.ts); the highest generation is the one appended to
// State = snapshot + every journal record with a greater LSN, in LSN order. Each committed write
// transaction is one record; records are written and fsynced in batches (group commit) and a
// transaction resolves only once its record is durable. A checkpoint folds the journal into a new
// snapshot (temp file + rename) and starts a new journal generation, so that a crash at any point
// leaves files that replay every durable transaction exactly once.
import { Buffer } from 'node:buffer';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SqlJsStatic } from 'sql.js';
import { isReadOnlyStatement, mayFailPartway, SqliteConnection } from './connection.ts';
import type { RunResult } from './connection.ts';
import {
  decodeRecords,
  encodeRecord,
  fsyncDirectory,
  journalPath,
  listJournalGenerations,
  writeFully,
} from './journal.ts';
import type { JournalOp, JournalRecord, SqlParam } from './journal.ts';
import { loadSqlJs } from './load-sqljs.ts';

export type { SqlParam } from './journal.ts';
export type { RunResult } from './connection.ts';

export interface SqlTx {
  /** Mutating statement: executed now and recorded in this transaction's journal record. */
  run(sql: string, params?: SqlParam[]): RunResult;
  /** Read queries, not recorded. Rows as plain objects keyed by column name. */
  all<T = Record<string, SqlParam>>(sql: string, params?: SqlParam[]): T[];
  get<T = Record<string, SqlParam>>(sql: string, params?: SqlParam[]): T | undefined;
}

export interface FaultInjector {
  /** Called before each journal write and each fsync; return an Error to make that I/O fail as if the disk failed. */
  beforeWrite?(kind: 'write' | 'fsync'): Error | undefined;
}

export interface DurableDatabaseOptions {
  path: string;
  /** Fold the journal into the snapshot once it exceeds max(this, snapshot size). Default 64 MiB. */
  checkpointBytes?: number;
  faults?: FaultInjector;
  /** Called after each durable group commit with the wall time the write+fsync took (for metrics). */
  onFlush?(info: { records: number; bytes: number; ms: number }): void;
}

/** The disk failed (write or fsync error): the transaction is not durable and was undone in memory. */
export class StorageUnavailableError extends Error {
  readonly code = 'UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

const META = '_durable_meta';
const DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024;
const noop = (): void => {};

interface Waiter {
  lsn: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** What the files on disk hold, loaded: the replayed database and where the journal continues. */
interface DiskState {
  conn: SqliteConnection;
  lsn: number;
  snapshotLsn: number;
  snapshotBytes: number;
  snapshotExists: boolean;
  handle: FileHandle;
  activeGen: number;
  writePos: number;
  olderGens: Map<number, number>;
}

/** FIFO async mutex. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    return previous.then(() => release);
  }
}

export class DurableDatabase {
  private readonly path: string;
  private readonly dir: string;
  private readonly checkpointBytes: number;
  private readonly faults: FaultInjector | undefined;
  private readonly onFlush: DurableDatabaseOptions['onFlush'];
  private readonly lock = new Mutex(); // serialises transactions, checkpoint exports, reloads
  private readonly readOnlyStatements = new Map<string, boolean>();
  private readonly partialStatements = new Map<string, boolean>();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;

  // Loaded state (see DiskState).
  private conn!: SqliteConnection | null;
  private lsn = 0; // last committed (in memory)
  private durableLsn = 0; // last fsynced
  private snapshotLsn = 0;
  private snapshotBytes = 0;
  private snapshotExists = false;
  private handle!: FileHandle;
  private activeGen = 1;
  private writePos = 0; // end of the durable prefix of the active journal
  private olderGens = new Map<number, number>(); // generation -> bytes, awaiting deletion by a checkpoint

  // Group commit.
  private pending: Buffer[] = [];
  private pendingLsn = 0;
  private flushing = false;
  private waiters: Waiter[] = [];

  // Storage failure: memory may hold commits that are not on disk until reloaded.
  private needsReload = false;
  private failures = 0;

  // Checkpoints run one at a time; the file phase runs outside the transaction lock.
  private checkpointChain: Promise<void> = Promise.resolve();
  private snapshotWrite: Promise<void> | null = null;
  private autoCheckpointQueued = false;
  private autoCheckpointSlack = 0;

  private constructor(
    private readonly SQL: SqlJsStatic,
    options: DurableDatabaseOptions,
  ) {
    this.path = resolve(options.path);
    this.dir = dirname(this.path);
    this.checkpointBytes = options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
    this.faults = options.faults;
    this.onFlush = options.onFlush;
  }

  static async open(options: DurableDatabaseOptions): Promise<DurableDatabase> {
    const db = new DurableDatabase(await loadSqlJs(), options);
    const created = await mkdir(db.dir, { recursive: true });
    if (created) await fsyncDirectory(dirname(created)); // a new directory must survive a crash too
    await rm(`${db.path}.tmp`, { force: true }); // leftover of a checkpoint interrupted by a crash
    db.install(await db.loadFromDisk());
    try {
      // Make `path` a valid SQLite file from the start (and fold a crash-surviving journal into it).
      if (!db.snapshotExists) await db.checkpoint();
    } catch (err) {
      await db.handle.close().catch(noop);
      db.conn?.close();
      throw err;
    }
    return db;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  stats(): { journalBytes: number; snapshotBytes: number; lsn: number } {
    let journalBytes = this.writePos;
    for (const bytes of this.olderGens.values()) journalBytes += bytes;
    return { journalBytes, snapshotBytes: this.snapshotBytes, lsn: this.lsn };
  }

  async transaction<T>(fn: (tx: SqlTx) => T | Promise<T>): Promise<T> {
    this.assertOpen();
    const release = await this.lock.acquire();
    let result: T;
    let durable: Promise<void>;
    try {
      const conn = await this.readyConnection();
      const failuresAtStart = this.failures;
      const ops: JournalOp[] = [];
      const scope = { open: true };
      conn.execute('BEGIN');
      try {
        const value = fn(this.makeTx(conn, ops, scope));
        result = isPromiseLike(value) ? await value : value;
        scope.open = false;
        // A journal write failed meanwhile: this transaction may have read data that is now gone.
        if (this.failures !== failuresAtStart) {
          throw new StorageUnavailableError('storage failed while the transaction was running');
        }
        const lsn = this.lsn + 1;
        const record = ops.length > 0 ? encodeRecord({ lsn, ops }) : null; // before COMMIT: cannot fail after
        conn.execute('COMMIT');
        if (record) this.lsn = lsn;
        // (Read-only: wait for everything it may have seen.) Registered before the record is queued,
        // so that a failing write cannot slip past it.
        durable = this.waitDurable(this.lsn);
        if (record) this.enqueue(record, lsn);
      } catch (err) {
        scope.open = false;
        this.rollback(conn);
        throw err;
      }
    } finally {
      release();
    }
    await durable;
    this.maybeAutoCheckpoint();
    return result;
  }

  async migrate(migrations: string[][]): Promise<void> {
    const version = (tx: SqlTx): number =>
      Number(tx.get<{ value: number }>(`SELECT value FROM ${META} WHERE key = 'schema_version'`)?.value ?? 0);
    const current = await this.transaction(version);
    if (current > migrations.length) {
      throw new Error(`database schema version ${current} is newer than this code knows (${migrations.length})`);
    }
    for (let i = current; i < migrations.length; i++) {
      await this.transaction((tx) => {
        if (version(tx) !== i) return; // applied concurrently
        for (const sql of migrations[i]!) tx.run(sql);
        tx.run(`INSERT OR REPLACE INTO ${META}(key, value) VALUES ('schema_version', ?)`, [i + 1]);
      });
    }
  }

  checkpoint(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new Error('DurableDatabase is closed'));
    const run = this.checkpointChain.then(() => this.runCheckpoint());
    this.checkpointChain = run.then(noop, noop);
    return run;
  }

  async snapshotTo(outPath: string): Promise<void> {
    this.assertOpen();
    const release = await this.lock.acquire();
    let image: Uint8Array;
    try {
      const conn = await this.readyConnection();
      await this.waitDurable(this.lsn); // never copy data that could still vanish
      image = this.exportImage(conn);
    } finally {
      release();
    }
    const target = resolve(outPath);
    await mkdir(dirname(target), { recursive: true });
    await this.writeFileAtomically(target, image);
  }

  close(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.closing = this.shutdown();
    }
    return this.closing!;
  }

  private async shutdown(): Promise<void> {
    let failure: unknown;
    try {
      await this.checkpoint(); // queued behind every transaction already waiting for the lock
    } catch (err) {
      failure = err;
    }
    const release = await this.lock.acquire();
    try {
      await this.handle.close().catch(noop);
      if (failure === undefined && this.writePos === 0 && this.olderGens.size === 0) {
        await rm(journalPath(this.path, this.activeGen), { force: true }).catch(noop); // empty anyway
      }
      this.conn?.close();
      this.conn = null;
    } finally {
      this.state = 'closed';
      release();
    }
    if (failure !== undefined) throw failure;
  }

  // ---- transactions -------------------------------------------------------------------------

  private makeTx(conn: SqliteConnection, ops: JournalOp[], scope: { open: boolean }): SqlTx {
    const classified = (cache: Map<string, boolean>, test: (sql: string) => boolean) => (sql: string): boolean => {
      let known = cache.get(sql);
      if (known === undefined) cache.set(sql, (known = test(sql)));
      return known;
    };
    const readOnly = classified(this.readOnlyStatements, isReadOnlyStatement);
    const partial = classified(this.partialStatements, mayFailPartway);
    // Every statement that changed rows is journaled (all()/get() included, e.g. DELETE ... RETURNING),
    // plus every run() call (DDL does not show in total_changes). A statement that threw is journaled
    // (flagged) only if it changed rows before failing (UPDATE OR FAIL), so replay reproduces that too.
    const exec = <R>(sql: string, params: SqlParam[], journalAlways: boolean, body: (p: SqlParam[]) => R): R => {
      if (!scope.open) throw new Error('transaction already finished');
      const p = checkParams(params);
      if (!journalAlways && readOnly(sql)) return body(p);
      if (journalAlways && !partial(sql)) {
        const out = body(p); // throws with nothing changed (see mayFailPartway)
        ops.push([sql, p]);
        return out;
      }
      const before = conn.totalChanges();
      let out: R;
      try {
        out = body(p);
      } catch (err) {
        if (conn.totalChanges() !== before) ops.push([sql, p, 1]);
        throw err;
      }
      if (journalAlways || conn.totalChanges() !== before) ops.push([sql, p]);
      return out;
    };
    return {
      run: (sql, params = []) => exec(sql, params, true, (p) => conn.run(sql, p)),
      all: <T>(sql: string, params: SqlParam[] = []) => exec(sql, params, false, (p) => conn.query(sql, p)) as T[],
      get: <T>(sql: string, params: SqlParam[] = []) =>
        exec(sql, params, false, (p) => conn.query(sql, p, 1))[0] as T | undefined,
    };
  }

  private rollback(conn: SqliteConnection): void {
    try {
      conn.execute('ROLLBACK');
    } catch {
      // No transaction active: a statement (e.g. INSERT OR ROLLBACK) ended it and later statements
      // autocommitted without being journaled. Only a reload from disk restores the truth.
      this.needsReload = true;
    }
  }

  private async readyConnection(): Promise<SqliteConnection> {
    if (!this.conn) throw new Error('DurableDatabase is closed');
    if (this.needsReload) await this.reload();
    return this.conn;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error('DurableDatabase is closed');
  }

  // ---- group commit -------------------------------------------------------------------------

  private enqueue(record: Buffer, lsn: number): void {
    this.pending.push(record);
    this.pendingLsn = lsn;
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => void this.flush()); // never fail synchronously inside a commit
    }
  }

  /** Writes and fsyncs everything queued, in batches: records queued during one fsync share the next. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        const lastLsn = this.pendingLsn;
        this.pending = [];
        const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch);
        const started = performance.now();
        try {
          this.fault('write');
          await writeFully(this.handle, data, this.writePos);
          this.fault('fsync');
          await this.handle.datasync();
        } catch (err) {
          this.storageFailed(err);
          return;
        }
        this.writePos += data.length;
        this.durableLsn = lastLsn;
        this.releaseWaiters();
        try {
          this.onFlush?.({ records: batch.length, bytes: data.length, ms: performance.now() - started });
        } catch {
          /* a metrics callback must not break commits */
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private waitDurable(lsn: number): Promise<void> {
    if (lsn <= this.durableLsn) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  private releaseWaiters(): void {
    // Waiters are registered under the lock in commit order, so their LSNs are non-decreasing.
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= this.durableLsn) this.waiters[i++]!.resolve();
    if (i > 0) this.waiters.splice(0, i);
  }

  /** A journal write or fsync failed: nothing after the durable prefix may be kept or acknowledged. */
  private storageFailed(cause: unknown): void {
    const error = storageError('journal write failed', cause);
    this.failures++;
    this.needsReload = true;
    this.pending = [];
    this.lsn = this.durableLsn;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  /** Rebuilds memory from the durable on-disk state; runs under the lock before the next transaction. */
  private async reload(): Promise<void> {
    await this.snapshotWrite; // never read the files in the middle of a checkpoint's swap
    // After a failed ROLLBACK (not a storage failure) earlier commits may still be in flight: let
    // them land first, the truncation below must not cut them.
    await this.waitDurable(this.lsn).catch(noop);
    try {
      // Cut whatever lies past the durable prefix: a torn write, or whole records whose fsync failed
      // (they may be intact on disk and would otherwise come back at the next replay).
      this.fault('write');
      await this.handle.truncate(this.writePos);
      this.fault('fsync');
      await this.handle.datasync();
    } catch (err) {
      throw storageError('cannot repair the journal', err);
    }
    let loaded: DiskState;
    try {
      loaded = await this.loadFromDisk();
    } catch (err) {
      throw storageError('cannot reload the database from disk', err);
    }
    await this.handle.close().catch(noop);
    this.conn?.close();
    this.install(loaded);
    this.needsReload = false;
  }

  private fault(kind: 'write' | 'fsync'): void {
    const err = this.faults?.beforeWrite?.(kind);
    if (err) throw err;
  }

  // ---- loading and replay -------------------------------------------------------------------

  private async loadFromDisk(): Promise<DiskState> {
    const image = await readIfExists(this.path);
    const conn = new SqliteConnection(image ? new this.SQL.Database(image) : new this.SQL.Database());
    let handle: FileHandle | undefined;
    try {
      conn.execute(`CREATE TABLE IF NOT EXISTS ${META} (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
      const snapshotLsn = conn.scalar(`SELECT value FROM ${META} WHERE key = 'lsn'`);
      let applied = snapshotLsn;
      let broken = false;
      const gens = new Map<number, number>();
      for (const gen of await listJournalGenerations(this.path)) {
        const file = journalPath(this.path, gen);
        if (broken) {
          // After a gap nothing can be applied; keep the file for inspection, out of the way.
          await rename(file, `${file}.discarded`);
          continue;
        }
        const bytes = await readFile(file);
        let end = 0;
        for (const { record, end: recordEnd } of decodeRecords(bytes)) {
          if (record.lsn > applied) {
            if (record.lsn !== applied + 1) {
              broken = true;
              break;
            }
            replay(conn, record);
            applied = record.lsn;
          }
          end = recordEnd; // records <= snapshot LSN are already in the snapshot: skipped
        }
        if (end < bytes.length) await truncateFile(file, end); // torn or corrupt tail
        gens.set(gen, end);
      }
      const last = [...gens.keys()].pop();
      let writePos = 0;
      let activeGen = 1;
      if (last === undefined) {
        handle = await open(journalPath(this.path, activeGen), 'w');
        await fsyncDirectory(this.dir);
      } else {
        activeGen = last;
        writePos = gens.get(last)!;
        gens.delete(last);
        handle = await open(journalPath(this.path, activeGen), 'r+');
        if (broken) await fsyncDirectory(this.dir);
      }
      return {
        conn,
        lsn: applied,
        snapshotLsn,
        snapshotBytes: image?.length ?? 0,
        snapshotExists: image !== undefined,
        handle,
        activeGen,
        writePos,
        olderGens: gens,
      };
    } catch (err) {
      conn.close();
      await handle?.close().catch(noop);
      throw err;
    }
  }

  private install(s: DiskState): void {
    this.conn = s.conn;
    this.lsn = s.lsn;
    this.durableLsn = s.lsn;
    this.snapshotLsn = s.snapshotLsn;
    this.snapshotBytes = s.snapshotBytes;
    this.snapshotExists = s.snapshotExists;
    this.handle = s.handle;
    this.activeGen = s.activeGen;
    this.writePos = s.writePos;
    this.olderGens = s.olderGens;
    this.pending = [];
    this.pendingLsn = s.lsn;
  }

  // ---- checkpoints --------------------------------------------------------------------------

  private maybeAutoCheckpoint(): void {
    if (this.autoCheckpointQueued || this.state !== 'open') return;
    const threshold = Math.max(this.checkpointBytes, this.snapshotBytes) + this.autoCheckpointSlack;
    if (this.writePos <= threshold) return;
    this.autoCheckpointQueued = true;
    this.checkpoint().then(
      () => {
        this.autoCheckpointSlack = 0;
        this.autoCheckpointQueued = false;
      },
      () => {
        // Do not retry (an O(database) export) on every write while the disk is failing.
        this.autoCheckpointSlack = this.writePos;
        this.autoCheckpointQueued = false;
      },
    );
  }

  private async runCheckpoint(): Promise<void> {
    let image: Uint8Array;
    let lsn: number;
    let retired: number[];
    const release = await this.lock.acquire();
    try {
      const conn = await this.readyConnection();
      await this.waitDurable(this.lsn); // the snapshot must not contain anything not yet durable
      const clean = this.writePos === 0 && this.olderGens.size === 0;
      if (this.snapshotExists && clean && this.lsn === this.snapshotLsn) return;
      lsn = this.lsn;
      image = this.exportImage(conn);
      retired = [...this.olderGens.keys(), this.activeGen];
      await this.rotateJournal(); // commits from now on go to a journal the new snapshot does not cover
    } finally {
      release();
    }
    // File phase, outside the lock: transactions go on meanwhile.
    const phase = this.replaceSnapshot(image, lsn, retired);
    this.snapshotWrite = phase.then(noop, noop);
    try {
      await phase;
    } finally {
      this.snapshotWrite = null;
    }
  }

  /** Exports the database with its LSN recorded inside, so the file is self-describing. */
  private exportImage(conn: SqliteConnection): Uint8Array {
    conn.execute(`INSERT OR REPLACE INTO ${META}(key, value) VALUES ('lsn', ?)`, [this.lsn]);
    return conn.export();
  }

  private async rotateJournal(): Promise<void> {
    const gen = this.activeGen + 1;
    const file = journalPath(this.path, gen);
    let handle: FileHandle | undefined;
    try {
      this.fault('write');
      handle = await open(file, 'w');
      this.fault('fsync');
      await fsyncDirectory(this.dir); // the new file must survive a crash before its records are acked
    } catch (err) {
      await handle?.close().catch(noop);
      await rm(file, { force: true }).catch(noop);
      throw storageError('cannot start a new journal file', err);
    }
    const previous = this.handle;
    this.olderGens.set(this.activeGen, this.writePos);
    this.handle = handle;
    this.activeGen = gen;
    this.writePos = 0;
    await previous.close().catch(noop);
  }

  private async replaceSnapshot(image: Uint8Array, lsn: number, retired: number[]): Promise<void> {
    await this.writeFileAtomically(this.path, image);
    this.snapshotLsn = lsn;
    this.snapshotBytes = image.length;
    this.snapshotExists = true;
    // The retired journals hold only records <= lsn now; a crash before they are gone is harmless.
    for (const gen of retired) {
      try {
        await rm(journalPath(this.path, gen), { force: true });
        this.olderGens.delete(gen);
      } catch {
        break; // retried by the next checkpoint
      }
    }
  }

  /** temp file -> fsync -> rename over target -> fsync directory. */
  private async writeFileAtomically(target: string, data: Uint8Array): Promise<void> {
    const tmp = `${target}.tmp`;
    try {
      this.fault('write');
      const handle = await open(tmp, 'w');
      try {
        await writeFully(handle, data, 0);
        this.fault('fsync');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
      this.fault('fsync');
      await fsyncDirectory(dirname(target));
    } catch (err) {
      await rm(tmp, { force: true }).catch(noop);
      throw storageError(`cannot write ${target}`, err);
    }
  }
}

/** Re-executes one journal record; records only hold statements that succeeded before. */
function replay(conn: SqliteConnection, record: JournalRecord): void {
  conn.execute('BEGIN');
  try {
    for (const [sql, params, failed] of record.ops) {
      try {
        conn.execute(sql, params);
      } catch (err) {
        if (failed !== 1) throw err;
      }
    }
    conn.execute('COMMIT');
  } catch (err) {
    try {
      conn.execute('ROLLBACK');
    } catch {
      /* already rolled back */
    }
    // Not a torn tail (the CRC matched): replay diverged, which must not pass silently.
    throw new Error(`cannot replay journal record ${record.lsn}: ${(err as Error).message}`, { cause: err });
  }
}

/** Parameters are journaled as JSON: only values that survive the round trip exactly are accepted. */
function checkParams(params: SqlParam[]): SqlParam[] {
  if (!Array.isArray(params)) throw new TypeError('SQL parameters must be an array');
  for (const p of params) {
    const ok = p === null || typeof p === 'string' || (typeof p === 'number' && Number.isFinite(p));
    if (!ok) throw new TypeError(`unsupported SQL parameter ${String(p)} (use string, finite number or null)`);
  }
  return params.slice(); // the caller may mutate its array after the call
}

function storageError(message: string, cause: unknown): StorageUnavailableError {
  if (cause instanceof StorageUnavailableError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageUnavailableError(`${message}: ${detail}`, { cause });
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function truncateFile(file: string, length: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

