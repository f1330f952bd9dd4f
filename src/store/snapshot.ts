/** A consistent copy of the embedded database as bytes (for the admin download). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedByBackendError } from './errors.ts';
import type { Store } from './types.ts';

export async function exportSnapshot(store: Store): Promise<Uint8Array> {
  if (!store.snapshotTo) throw new UnsupportedByBackendError('Snapshots are for the embedded database; use pg_dump for PostgreSQL');
  const dir = await mkdtemp(join(tmpdir(), 'prekeyd-snapshot-'));
  try {
    const file = join(dir, 'snapshot.db');
    await store.snapshotTo(file, { selfContained: true }); // one download, blobs inline
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
