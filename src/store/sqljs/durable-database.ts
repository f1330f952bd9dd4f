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
//
// This file holds the transaction lock and the in-memory state; the parts: journal-writer.ts (group
// commit, journal generations), checkpoints.ts (snapshot file, checkpoint scheduling), recovery.ts
// (loading and replay), sql-tx.ts (what a transaction body sees), storage-failure.ts, schema-version.ts.
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SqlJsStatic } from 'sql.js';
import { Checkpoints, copyFileAtomically, writeFileAtomically } from './checkpoints.ts';
import type { SqliteConnection } from './connection.ts';
import { encodeRecord, fsyncDirectory, journalPath, type JournalOp, listJournalGenerations } from './journal.ts';
import { privateDirectoryMode, tightenFileModes } from './file-modes.ts';
import { JournalWriter, type FlushInfo } from './journal-writer.ts';
import { loadSqlJs } from './load-sqljs.ts';
import { exportAtLsn, loadFromDisk, type DiskState } from './recovery.ts';
import { applyMigrations } from './schema-version.ts';
import { buildImageOffThread } from './off-thread-image.ts';
import { buildSnapshotImage, type ImageJob } from './snapshot-image.ts';
import { createSqlTx, isPromiseLike, type SqlTx, type StatementKinds, type TxScope } from './sql-tx.ts';
import { StorageUnavailableError, storageError, type FaultInjector } from './storage-failure.ts';
import { Mutex } from '../mutex.ts';
import { makeDirectory } from '../../runtime/make-directory.ts';

export type { SqlParam } from './journal.ts';
export type { RunResult } from './connection.ts';
export type { SqlTx } from './sql-tx.ts';
export type { FaultInjector } from './storage-failure.ts';
export { StorageUnavailableError } from './storage-failure.ts';

export interface DurableDatabaseOptions {
  path: string;
  /** Fold the journal into the snapshot once it exceeds max(this, snapshot size). Default 64 MiB. */
  checkpointBytes?: number;
  faults?: FaultInjector;
  /**
   * Build a checkpoint's image in a worker thread (from the files, off the event loop) once the
   * snapshot and journal together reach this size; smaller ones export in place. Default 16 MiB.
   */
  offThreadImageBytes?: number;
  /** Called after each checkpoint that wrote a snapshot: where its image was built and how long it took. */
  onCheckpoint?(info: CheckpointInfo): void;
  /** Called after each durable group commit with the wall time the write+fsync took (for metrics). */
  onFlush?(info: FlushInfo): void;
}

export interface CheckpointInfo {
  lsn: number;
  bytes: number;
  ms: number;
  /** 'worker': off the event loop; 'in place': under the lock; 'in place, worker failed': the worker could not run. */
  image: 'worker' | 'in place' | 'in place, worker failed';
  workerError?: string;
}

/**
 * State a store keeps in memory instead of in sql.js, its changes journaled with SqlTx.journal as
 * the statements they stand for: the files (snapshot + journal) hold it as plain tables, the live
 * database does not, so every image of it is built from the files.
 */
export interface HotState {
  /** Takes its rows out of a freshly loaded database: when attached, and after every reload. */
  load(conn: SqliteConnection): void;
}

const DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024;
const DEFAULT_OFF_THREAD_IMAGE_BYTES = 16 * 1024 * 1024;
const noop = (): void => {};

export class DurableDatabase {
  private readonly path: string;
  private readonly faults: FaultInjector | undefined;
  private readonly lock = new Mutex(); // serialises transactions, checkpoint exports, reloads
  private readonly statementKinds: StatementKinds = { readOnly: new Map(), partial: new Map() };
  private readonly journal: JournalWriter;
  private readonly checkpoints: Checkpoints;
  private readonly offThreadImageBytes: number;
  private readonly onCheckpoint: ((info: CheckpointInfo) => void) | undefined;
  private hot: HotState | null = null;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;

  // Loaded state (see DiskState; the journal and snapshot parts live in journal and checkpoints).
  private conn!: SqliteConnection | null;
  private lsn = 0; // last committed (in memory); journal.durableLsn is the last fsynced

  // Storage failure: memory may hold commits that are not on disk until reloaded.
  private needsReload = false;
  private failures = 0;

  private constructor(
    private readonly SQL: SqlJsStatic,
    options: DurableDatabaseOptions,
  ) {
    this.path = resolve(options.path);
    this.faults = options.faults;
    this.journal = new JournalWriter(this.path, options.faults, options.onFlush, () => this.storageFailed());
    const checkpointBytes = options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
    this.offThreadImageBytes = options.offThreadImageBytes ?? DEFAULT_OFF_THREAD_IMAGE_BYTES;
    this.onCheckpoint = options.onCheckpoint;
    this.checkpoints = new Checkpoints(this.path, this.journal, options.faults, checkpointBytes, () => this.runCheckpoint());
  }

  static async open(options: DurableDatabaseOptions): Promise<DurableDatabase> {
    const db = new DurableDatabase(await loadSqlJs(), options);
    const created = await makeDirectory(dirname(db.path), privateDirectoryMode);
    if (created) await fsyncDirectory(dirname(created)); // a new directory must survive a crash too
    await rm(`${db.path}.tmp`, { force: true }); // leftover of a checkpoint interrupted by a crash
    await tightenFileModes([db.path, ...(await listJournalGenerations(db.path)).map((gen) => journalPath(db.path, gen))]);
    db.install(await loadFromDisk(db.SQL, db.path));
    try {
      // Make `path` a valid SQLite file from the start (and fold a crash-surviving journal into it).
      if (!db.checkpoints.snapshotExists) await db.checkpoint();
    } catch (err) {
      await db.journal.close(false);
      db.conn?.close();
      throw err;
    }
    return db;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  stats(): { journalBytes: number; snapshotBytes: number; lsn: number } {
    return { journalBytes: this.journal.bytes, snapshotBytes: this.checkpoints.snapshotBytes, lsn: this.lsn };
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
      const scope: TxScope = { open: true, undo: [] };
      conn.execute('BEGIN');
      try {
        const value = fn(createSqlTx(conn, ops, scope, this.statementKinds));
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
        durable = this.journal.waitDurable(this.lsn);
        if (record) this.journal.enqueue(record, lsn);
      } catch (err) {
        scope.open = false;
        this.rollback(conn, scope.undo);
        throw err;
      }
    } finally {
      release();
    }
    await durable;
    if (this.state === 'open') this.checkpoints.maybeStart();
    return result;
  }

  /** Hands `hot` its rows (after migrations: they may still read them) and keeps it loaded across reloads. */
  async attachHotState(hot: HotState): Promise<void> {
    this.assertOpen();
    const release = await this.lock.acquire();
    try {
      hot.load(await this.readyConnection());
      this.hot = hot;
    } finally {
      release();
    }
  }

  migrate(migrations: string[][]): Promise<void> {
    return applyMigrations(this, migrations);
  }

  checkpoint(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new Error('DurableDatabase is closed'));
    return this.checkpoints.run();
  }

  async snapshotTo(outPath: string): Promise<void> {
    this.assertOpen();
    const target = resolve(outPath);
    if (this.hot) {
      // The live database is not the whole state: the snapshot file is, once a checkpoint has
      // folded every commit so far into it (a later checkpoint replaces it whole, by rename).
      await this.checkpoint();
      await makeDirectory(dirname(target), privateDirectoryMode);
      await copyFileAtomically(this.path, target, this.faults);
      return;
    }
    const release = await this.lock.acquire();
    let image: Uint8Array;
    try {
      const conn = await this.readyConnection();
      await this.journal.waitDurable(this.lsn); // never copy data that could still vanish
      image = this.exportImage(conn);
    } finally {
      release();
    }
    await makeDirectory(dirname(target), privateDirectoryMode);
    await writeFileAtomically(target, image, this.faults);
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
      await this.journal.close(failure === undefined);
      this.conn?.close();
      this.conn = null;
    } finally {
      this.state = 'closed';
      release();
    }
    if (failure !== undefined) throw failure;
  }

  private rollback(conn: SqliteConnection, undo: Array<() => void>): void {
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
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

  /** A journal write or fsync failed: memory is ahead of the disk, and running transactions must fail. */
  private storageFailed(): void {
    this.failures++;
    this.needsReload = true;
    this.lsn = this.journal.durableLsn;
  }

  /** Rebuilds memory from the durable on-disk state; runs under the lock before the next transaction. */
  private async reload(): Promise<void> {
    await this.checkpoints.snapshotWrite; // never read the files in the middle of a checkpoint's swap
    // After a failed ROLLBACK (not a storage failure) earlier commits may still be in flight: let
    // them land first, the truncation below must not cut them.
    await this.journal.waitDurable(this.lsn).catch(noop);
    await this.journal.truncateToDurable();
    let loaded: DiskState;
    try {
      loaded = await loadFromDisk(this.SQL, this.path);
    } catch (err) {
      throw storageError('cannot reload the database from disk', err);
    }
    await this.journal.close(false);
    this.conn?.close();
    this.install(loaded);
    this.hot?.load(loaded.conn);
    this.needsReload = false;
  }

  private install(s: DiskState): void {
    this.conn = s.conn;
    this.lsn = s.lsn;
    this.journal.install(s);
    this.checkpoints.install(s);
  }

  /**
   * A checkpoint's lock phase, then its file phase (Checkpoints.writeSnapshot) outside the lock. A
   * large database's image is built by a worker from the snapshot and the journals the rotation
   * closed, so the lock phase is only the rotation and requests go on meanwhile.
   */
  private async runCheckpoint(): Promise<void> {
    const started = performance.now();
    const info: Pick<CheckpointInfo, 'image' | 'workerError'> = { image: 'in place' };
    let image: Uint8Array | Promise<Uint8Array>;
    let lsn: number;
    let covered: number[];
    const release = await this.lock.acquire();
    try {
      const conn = await this.readyConnection();
      await this.journal.waitDurable(this.lsn); // the snapshot must not contain anything not yet durable
      const { snapshotExists, snapshotLsn, snapshotBytes } = this.checkpoints;
      if (snapshotExists && this.journal.isEmpty && this.lsn === snapshotLsn) return;
      lsn = this.lsn;
      // While closing nothing waits for the lock but the close itself: export in place, unless
      // the live database lacks the hot state's rows.
      const offThread = this.hot !== null || (this.state === 'open' && snapshotBytes + this.journal.bytes >= this.offThreadImageBytes);
      const exported = offThread ? undefined : this.exportImage(conn);
      covered = await this.journal.rotate(); // commits from now on go to a journal the new snapshot does not cover
      image = exported ?? this.imageOffThread({ path: this.path, lsn, generations: covered.toSorted((a, b) => a - b) }, info);
    } finally {
      release();
    }
    await this.checkpoints.writeSnapshot(image, lsn, covered);
    this.onCheckpoint?.({ lsn, bytes: this.checkpoints.snapshotBytes, ms: performance.now() - started, ...info });
  }

  /** The same image on this thread if the worker cannot run (e.g. a runtime without worker threads). */
  private async imageOffThread(job: ImageJob, info: Pick<CheckpointInfo, 'image' | 'workerError'>): Promise<Uint8Array> {
    try {
      const image = await buildImageOffThread(job);
      info.image = 'worker';
      return image;
    } catch (err) {
      info.image = 'in place, worker failed';
      info.workerError = (err as Error).message ?? String(err);
      return buildSnapshotImage(this.SQL, job);
    }
  }

  /** Exports the database with its LSN recorded inside, so the file is self-describing. */
  private exportImage(conn: SqliteConnection): Uint8Array {
    return exportAtLsn(conn, this.lsn);
  }
}
