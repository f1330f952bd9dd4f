// The snapshot file and the checkpoints that replace it. A checkpoint exports the database and
// starts a new journal generation under the transaction lock (DurableDatabase); the file phase
// here (write the new snapshot, delete the journals it covers) runs outside the lock, so
// transactions go on meanwhile. Checkpoints run one at a time.
import { chmod, copyFile, open, rename, rm } from 'node:fs/promises';
import { privateFileMode } from './file-modes.ts';
import { dirname } from 'node:path';
import { fsyncDirectory, writeFully } from './journal.ts';
import type { JournalWriter } from './journal-writer.ts';
import type { DiskState } from './recovery.ts';
import { injectFault, storageError } from './storage-failure.ts';
import type { FaultInjector } from './storage-failure.ts';

const noop = (): void => {};
/** A snapshot is synced every so many bytes while written (see writeFully). */
const snapshotSyncBytes = 16 * 1024 * 1024;

export class Checkpoints {
  snapshotLsn = 0;
  snapshotBytes = 0;
  snapshotExists = false;
  /** Set while the snapshot file is being replaced; never rejects. */
  snapshotWrite: Promise<void> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private autoQueued = false;
  private autoSlack = 0;

  constructor(
    private readonly path: string,
    private readonly journal: JournalWriter,
    private readonly faults: FaultInjector | undefined,
    /** Fold the journal once it exceeds max(this, snapshot size). */
    private readonly checkpointBytes: number,
    /** One whole checkpoint: the lock phase, then writeSnapshot. */
    private readonly checkpointOnce: () => Promise<void>,
  ) {}

  install(s: DiskState): void {
    this.snapshotLsn = s.snapshotLsn;
    this.snapshotBytes = s.snapshotBytes;
    this.snapshotExists = s.snapshotExists;
  }

  /** Runs a checkpoint after every one already queued. */
  run(): Promise<void> {
    const run = this.chain.then(this.checkpointOnce);
    this.chain = run.then(noop, noop);
    return run;
  }

  /** Starts a checkpoint in the background once the active journal has outgrown its threshold. */
  maybeStart(): void {
    if (this.autoQueued) return;
    const threshold = Math.max(this.checkpointBytes, this.snapshotBytes) + this.autoSlack;
    if (this.journal.writePos <= threshold) return;
    this.autoQueued = true;
    this.run().then(
      () => {
        this.autoSlack = 0;
        this.autoQueued = false;
      },
      () => {
        // Do not retry (an O(database) export) on every write while the disk is failing.
        this.autoSlack = this.journal.writePos;
        this.autoQueued = false;
      },
    );
  }

  /**
   * The file phase: `image` holds (or is being built to hold) the database at `lsn`, `covered` the
   * journal generations it makes redundant. snapshotWrite is set before this returns, so a reload
   * that takes the lock next waits for the build and the swap.
   */
  async writeSnapshot(image: Uint8Array | Promise<Uint8Array>, lsn: number, covered: number[]): Promise<void> {
    const phase = this.replaceSnapshot(image, lsn, covered);
    this.snapshotWrite = phase.then(noop, noop);
    try {
      await phase;
    } finally {
      this.snapshotWrite = null;
    }
  }

  private async replaceSnapshot(building: Uint8Array | Promise<Uint8Array>, lsn: number, covered: number[]): Promise<void> {
    let image: Uint8Array;
    try {
      image = await building;
    } catch (err) {
      throw storageError(`cannot build the database image at LSN ${lsn}`, err);
    }
    await writeFileAtomically(this.path, image, this.faults);
    this.snapshotLsn = lsn;
    this.snapshotBytes = image.length;
    this.snapshotExists = true;
    // The covered journals hold only records <= lsn now; a crash before they are gone is harmless.
    await this.journal.retire(covered);
  }
}

/** temp file -> fsync -> rename over target -> fsync directory. */
export function writeFileAtomically(target: string, data: Uint8Array, faults: FaultInjector | undefined): Promise<void> {
  return replaceFileAtomically(target, faults, async (tmp) => {
    const handle = await open(tmp, 'w', privateFileMode);
    try {
      await writeFully(handle, data, 0, snapshotSyncBytes);
    } finally {
      await handle.close();
    }
  });
}

/** As writeFileAtomically, with a copy of `source` (read through one descriptor: a rename over it meanwhile does not tear it). */
export function copyFileAtomically(source: string, target: string, faults: FaultInjector | undefined): Promise<void> {
  return replaceFileAtomically(target, faults, async (tmp) => {
    await copyFile(source, tmp);
    await chmod(tmp, privateFileMode);
  });
}

async function replaceFileAtomically(target: string, faults: FaultInjector | undefined, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp`;
  try {
    injectFault(faults, 'write');
    await write(tmp);
    const handle = await open(tmp, 'r+');
    try {
      injectFault(faults, 'fsync');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
    injectFault(faults, 'fsync');
    await fsyncDirectory(dirname(target));
  } catch (err) {
    await rm(tmp, { force: true }).catch(noop);
    throw storageError(`cannot write ${target}`, err);
  }
}
