// Appends journal records to the active journal file in batches (group commit) and tells each
// waiting transaction when its record is durable. Also switches journal generations for
// checkpoints and deletes the generations a snapshot covers.
import { Buffer } from 'node:buffer';
import { open, rm } from 'node:fs/promises';
import { privateFileMode } from './file-modes.ts';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDirectory, journalPath, writeFully } from './journal.ts';
import type { DiskState } from './recovery.ts';
import { injectFault, storageError } from './storage-failure.ts';
import type { FaultInjector } from './storage-failure.ts';

/** One durable group commit, for metrics: how many records, how many bytes, wall time of write+fsync. */
export interface FlushInfo {
  records: number;
  bytes: number;
  ms: number;
}

interface Waiter {
  lsn: number;
  resolve(): void;
  reject(err: unknown): void;
}

const noop = (): void => {};

export class JournalWriter {
  // Read outside, written only here.
  writePos = 0; // end of the durable prefix of the active journal
  durableLsn = 0; // last fsynced

  private handle!: FileHandle;
  private activeGen = 1;
  private olderGens = new Map<number, number>(); // generation -> bytes, awaiting deletion by a checkpoint

  // Group commit.
  private pending: Buffer[] = [];
  private pendingLsn = 0;
  private flushing = false;
  private waiters: Waiter[] = [];

  constructor(
    private readonly path: string,
    private readonly faults: FaultInjector | undefined,
    private readonly onFlush: ((info: FlushInfo) => void) | undefined,
    /** A write or fsync failed; called before the waiters are rejected. */
    private readonly onFailure: () => void,
  ) {}

  /** Continues the journal found on disk, whose records up to `s.lsn` are durable. */
  install(s: DiskState): void {
    this.durableLsn = s.lsn;
    this.handle = s.handle;
    this.activeGen = s.activeGen;
    this.writePos = s.writePos;
    this.olderGens = s.olderGens;
    this.pending = [];
    this.pendingLsn = s.lsn;
  }

  /** No journal file holds a record. */
  get isEmpty(): boolean {
    return this.writePos === 0 && this.olderGens.size === 0;
  }

  get bytes(): number {
    let journalBytes = this.writePos;
    for (const bytes of this.olderGens.values()) journalBytes += bytes;
    return journalBytes;
  }

  enqueue(record: Buffer, lsn: number): void {
    this.pending.push(record);
    this.pendingLsn = lsn;
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => void this.flush()); // never fail synchronously inside a commit
    }
  }

  waitDurable(lsn: number): Promise<void> {
    if (lsn <= this.durableLsn) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
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
          injectFault(this.faults, 'write');
          await writeFully(this.handle, data, this.writePos);
          injectFault(this.faults, 'fsync');
          await this.handle.datasync();
        } catch (err) {
          this.failed(err);
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

  private releaseWaiters(): void {
    // Waiters are registered under the lock in commit order, so their LSNs are non-decreasing.
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= this.durableLsn) this.waiters[i++]!.resolve();
    if (i > 0) this.waiters.splice(0, i);
  }

  /** A journal write or fsync failed: nothing after the durable prefix may be kept or acknowledged. */
  private failed(cause: unknown): void {
    const error = storageError('journal write failed', cause);
    this.pending = [];
    this.onFailure();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  /**
   * Cuts whatever lies past the durable prefix: a torn write, or whole records whose fsync failed
   * (they may be intact on disk and would otherwise come back at the next replay).
   */
  async truncateToDurable(): Promise<void> {
    try {
      injectFault(this.faults, 'write');
      await this.handle.truncate(this.writePos);
      injectFault(this.faults, 'fsync');
      await this.handle.datasync();
    } catch (err) {
      throw storageError('cannot repair the journal', err);
    }
  }

  /**
   * Starts the next generation: commits from now on go to a journal a snapshot taken before does
   * not cover. Returns the generations before the switch, which hold everything committed so far.
   */
  async rotate(): Promise<number[]> {
    const covered = [...this.olderGens.keys(), this.activeGen];
    const gen = this.activeGen + 1;
    const file = journalPath(this.path, gen);
    let handle: FileHandle | undefined;
    try {
      injectFault(this.faults, 'write');
      handle = await open(file, 'w', privateFileMode);
      injectFault(this.faults, 'fsync');
      await fsyncDirectory(dirname(this.path)); // the new file must survive a crash before its records are acked
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
    return covered;
  }

  /** Deletes generations a durable snapshot covers, stopping at the first that cannot be deleted. */
  async retire(gens: number[]): Promise<void> {
    for (const gen of gens) {
      try {
        await rm(journalPath(this.path, gen), { force: true });
        this.olderGens.delete(gen);
      } catch {
        break; // retried by the next checkpoint
      }
    }
  }

  /** Closes the active file, and deletes it when asked to and no journal holds a record (empty anyway). */
  async close(deleteIfEmpty: boolean): Promise<void> {
    await this.handle.close().catch(noop);
    if (deleteIfEmpty && this.isEmpty) await rm(journalPath(this.path, this.activeGen), { force: true }).catch(noop);
  }
}
