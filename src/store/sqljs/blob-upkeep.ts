/**
 * The embedded store's side of blob files: moving blobs still stored inside rows (databases of
 * older versions, self-contained snapshots) out to files at start, sweeping unreferenced files now
 * and then, and self-contained copies for the snapshot download.
 */
import { writeFile } from 'node:fs/promises';
import { decodeBase64, encodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import type { BlobFiles } from './blob-files.ts';
import { readWholeFile } from './journal.ts';
import type { DurableDatabase, SqlParam } from './durable-database.ts';
import { loadSqlJs } from './load-sqljs.ts';

const referencedBlobs = 'SELECT DISTINCT blob_checksum AS checksum FROM backups WHERE blob_checksum IS NOT NULL';

/** Rows whose blob is still inline get it written to a file and keep only the reference. */
export async function moveInlineBlobsToFiles(database: DurableDatabase, blobs: BlobFiles): Promise<number> {
  let moved = 0;
  for (;;) {
    const count = await database.transaction(async (sql) => {
      const rows = sql.all<{ id: SqlParam; bundle: SqlParam }>(
        `SELECT rowid AS id, encrypted_bundle AS bundle FROM backups WHERE blob_checksum IS NULL LIMIT 20`,
      );
      for (const row of rows) {
        const bytes = decodeBase64(String(row.bundle)) ?? new Uint8Array();
        const checksum = await blobs.put(bytes);
        sql.run(`UPDATE backups SET encrypted_bundle = '', blob_checksum = ?, size_bytes = ? WHERE rowid = ?`, [checksum, bytes.length, Number(row.id)]);
      }
      return rows.length;
    });
    moved += count;
    if (count === 0) return moved;
  }
}

/** Sweeps now, then every `everyMs`; the returned function stops it (and waits for a running sweep). */
export function startBlobSweeps(database: DurableDatabase, blobs: BlobFiles, everyMs: number, onError: (error: unknown) => void) {
  const referenced = () => database.transaction((sql) => new Set(sql.all<{ checksum: SqlParam }>(referencedBlobs).map((row) => String(row.checksum))));
  let running: Promise<unknown> = Promise.resolve();
  const run = () => {
    running = running.then(() => blobs.sweep(referenced)).catch(onError);
  };
  run();
  const timer = setInterval(run, everyMs);
  timer.unref?.();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Rewrites a snapshot file so that it carries its blobs inline (one file to download and restore). */
export async function inlineBlobs(imagePath: string, blobs: BlobFiles): Promise<void> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(await readWholeFile(imagePath));
  try {
    const rows = db.exec(referencedBlobs)[0]?.values ?? [];
    const update = db.prepare(`UPDATE backups SET encrypted_bundle = ?, blob_checksum = NULL WHERE blob_checksum = ?`);
    for (const [checksum] of rows) update.run([encodeBase64(await blobs.read(String(checksum))), String(checksum)]);
    update.free();
    await writeFile(imagePath, db.export());
  } finally {
    db.close();
  }
}
