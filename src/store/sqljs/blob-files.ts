/**
 * Opaque blobs (backup bundles) of the embedded store, kept as files beside the database so that
 * the in-memory database holds only a reference (the blob's SHA-256) and never the bytes.
 *
 *   <db>.blobs/<sha256 hex>    one file per distinct blob (content-addressed: equal blobs share it)
 *
 * Safety rules:
 * - `put` writes to a temporary name, fsyncs, renames and fsyncs the directory. It is called
 *   inside the transaction that references the blob, before that transaction commits, so a
 *   journal record that names a blob is never durable before the blob is.
 * - `sweep` removes a file only when no row referenced it in two scans of durable state at least
 *   `graceMs` apart and no `put` touched it since the first: a file a running transaction is
 *   about to reference, or one a copy in progress (snapshot, migrate) still needs, stays.
 *   Leftovers of a crash (temporary files, blobs of transactions that never committed) go the
 *   same way.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Mutex } from '../mutex.ts';
import { fsyncDirectory } from './journal.ts';

export const blobDirectory = (databasePath: string): string => `${databasePath}.blobs`;
const blobName = /^[0-9a-f]{64}$/;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class BlobFiles {
  /** put() and sweep deletions exclude each other; so do sweeps and copies. */
  private readonly files = new Mutex();
  private readonly copies = new Mutex();
  private touches = 0;
  private readonly touchedAt = new Map<string, number>();
  /** Unreferenced files seen by a sweep: when first seen, and the touch count then. */
  private readonly unreferenced = new Map<string, { since: number; touches: number }>();

  private constructor(
    readonly dir: string,
    private readonly graceMs: number,
  ) {}

  static async open(databasePath: string, graceMs = 60_000): Promise<BlobFiles> {
    const dir = blobDirectory(databasePath);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(dir)) if (!blobName.test(name)) await rm(join(dir, name), { force: true }); // interrupted writes
    await fsyncDirectory(dir);
    return new BlobFiles(dir, graceMs);
  }

  /** Stores `bytes` durably and returns their SHA-256 (the file name and the reference). */
  async put(bytes: Uint8Array): Promise<string> {
    const checksum = await sha256Hex(bytes);
    const release = await this.files.acquire();
    try {
      this.touchedAt.set(checksum, ++this.touches);
      const path = join(this.dir, checksum);
      const existing = await stat(path).catch(() => undefined);
      if (existing?.size === bytes.length) {
        const now = new Date();
        await utimes(path, now, now);
        return checksum;
      }
      const temporary = `${path}.tmp-${crypto.randomUUID()}`;
      await writeDurably(temporary, bytes);
      await rename(temporary, path);
      await fsyncDirectory(this.dir);
      return checksum;
    } finally {
      release();
    }
  }

  async read(checksum: string): Promise<Uint8Array> {
    if (!blobName.test(checksum)) throw new Error(`not a blob reference: ${checksum}`);
    return new Uint8Array(await readFile(join(this.dir, checksum)));
  }

  /**
   * One sweep step. `referenced` must return the references of state that is durable (a
   * transaction of the embedded store resolves only once everything it read is).
   */
  async sweep(referenced: () => Promise<Set<string>>, now = Date.now()): Promise<number> {
    const releaseCopies = await this.copies.acquire();
    try {
      const touchesBefore = this.touches;
      const names = (await readdir(this.dir)).filter((name) => blobName.test(name));
      const live = await referenced();
      const due: string[] = [];
      for (const name of names) {
        if (live.has(name)) {
          this.unreferenced.delete(name);
          continue;
        }
        const seen = this.unreferenced.get(name);
        if (!seen) this.unreferenced.set(name, { since: now, touches: touchesBefore });
        else if (now - seen.since >= this.graceMs) due.push(name);
      }
      for (const name of this.unreferenced.keys()) if (!names.includes(name)) this.unreferenced.delete(name);
      const releaseFiles = await this.files.acquire();
      let removed = 0;
      try {
        for (const name of due) {
          const seen = this.unreferenced.get(name)!;
          if ((this.touchedAt.get(name) ?? 0) > seen.touches) {
            this.unreferenced.delete(name); // put() since: a transaction may reference it now
            continue;
          }
          await rm(join(this.dir, name), { force: true });
          this.unreferenced.delete(name);
          removed++;
        }
        if (removed > 0) await fsyncDirectory(this.dir);
        // Touches older than every pending candidate no longer matter.
        const oldest = Math.min(touchesBefore, ...[...this.unreferenced.values()].map((seen) => seen.touches));
        for (const [name, at] of this.touchedAt) if (at <= oldest) this.touchedAt.delete(name);
      } finally {
        releaseFiles();
      }
      return removed;
    } finally {
      releaseCopies();
    }
  }

  /** Runs `fn` (a copy of the database and its blobs) with no sweep removing a file meanwhile. */
  async withSweepsPaused<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.copies.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** Copies the blob files of one directory into another (hard links where possible), durably. */
export async function copyBlobDirectory(sourceDir: string, targetDir: string): Promise<void> {
  await mkdir(targetDir, { recursive: true, mode: 0o700 });
  const names = await readdir(sourceDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  for (const name of names) {
    if (!blobName.test(name)) continue;
    const target = join(targetDir, name);
    if (await stat(target).catch(() => undefined)) continue;
    try {
      await link(join(sourceDir, name), target); // blobs are never rewritten in place: sharing the inode is safe
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // swept meanwhile: unreferenced
      await copyFile(join(sourceDir, name), target, constants.COPYFILE_EXCL);
      const handle = await open(target, 'r');
      await handle.sync().finally(() => handle.close());
    }
  }
  await fsyncDirectory(targetDir);
}
