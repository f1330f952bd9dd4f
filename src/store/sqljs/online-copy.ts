/**
 * A consistent copy of an embedded database that another process may be writing: copy the
 * snapshot and journal files, check no checkpoint swapped them meanwhile (else retry), then
 * replay the copy and write it out as one standalone SQLite file, with the blob files beside it
 * (`<out>.blobs`). Journal appends during the copy are harmless: replay keeps the longest intact prefix.
 */
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
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

export async function copyDatabaseOnline(path: string, outPath: string, attempts = 10): Promise<void> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'prekeyd-copy-'));
    try {
      const before = await fileState(path);
      const copy = join(dir, basename(path));
      await copyFile(path, copy);
      for (const generation of await listJournalGenerations(path)) {
        await copyFile(journalPath(path, generation), journalPath(copy, generation));
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
