/**
 * A consistent copy of an embedded database that another process may be writing: copy the
 * snapshot and journal files, check no checkpoint swapped them meanwhile (else retry), then
 * replay the copy and write it out as one standalone SQLite file, with the blob files beside it
 * (`<out>.blobs`). Journal appends during the copy are harmless: replay keeps the longest intact prefix.
 */
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { blobDirectory, copyBlobDirectory } from './blob-files.ts';
import { DurableDatabase } from './durable-database.ts';
import { journalPath, listJournalGenerations } from './journal.ts';

async function fileState(path: string): Promise<string> {
  const snapshot = await stat(path).catch(() => undefined);
  const generations = await listJournalGenerations(path);
  return JSON.stringify([snapshot?.ino, snapshot?.mtimeMs, snapshot?.size, generations]);
}

/** Bytes copied so far of the files' total, for a progress display. */
export type CopyProgress = (copiedBytes: number, totalBytes: number) => void;

/** copyFile in 1 MiB steps, reporting each. */
async function copyCounting(from: string, to: string, counted: (bytes: number) => void): Promise<void> {
  const source = await open(from, 'r');
  try {
    const target = await open(to, 'wx');
    try {
      const buffer = new Uint8Array(1024 * 1024);
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        await target.write(buffer, 0, bytesRead);
        counted(bytesRead);
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

export async function copyDatabaseOnline(path: string, outPath: string, attempts = 10, progress?: CopyProgress): Promise<void> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'prekeyd-copy-'));
    try {
      const before = await fileState(path);
      const copy = join(dir, basename(path));
      const generations = await listJournalGenerations(path);
      const files = [[path, copy], ...generations.map((generation) => [journalPath(path, generation), journalPath(copy, generation)])] as const;
      const sizes = await Promise.all(
        files.map(([from]) =>
          stat(from).then(
            (info) => info.size,
            () => 0,
          ),
        ),
      );
      const total = sizes.reduce((sum, size) => sum + size, 0);
      let copied = 0;
      for (const [from, to] of files) {
        await copyCounting(from, to, (bytes) => {
          copied += bytes;
          progress?.(copied, Math.max(total, copied));
        });
      }
      if ((await fileState(path)) !== before) continue; // a checkpoint ran during the copy
      const database = await DurableDatabase.open({ path: copy });
      try {
        await database.snapshotTo(outPath);
      } finally {
        await database.close();
      }
      // After the files: a blob the copy references stays at least a sweep grace period (60 s)
      // after it was last referenced, and blobs added meanwhile are only extra.
      await copyBlobDirectory(blobDirectory(path), blobDirectory(outPath));
      return;
    } catch (error) {
      if (attempt === attempts || (error as { code?: string }).code !== 'ENOENT') throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`The database ${path} kept changing its files; try again`);
}
