/**
 * Backup blobs of the embedded store in files beside the database (src/store/sqljs/blob-files.ts):
 * written before the transaction that references them commits, never swept while referenced or
 * within the grace period, and carried by snapshots.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobFiles, blobDirectory } from '../../src/store/sqljs/blob-files.ts';
import { openSqlJsStore } from '../../src/store/sqljs/sqljs-store.ts';
import type { BackupRecord } from '../../src/store/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'prekeyd-blobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backup = (userId: string, version: number, fill: number): BackupRecord => ({
  projectId: 'p1',
  userId,
  version,
  encryptedBundle: Buffer.alloc(2000, fill).toString('base64'),
  encryptionMetadata: { n: 1 },
  checksum: 'c',
  createdAt: '2024-01-01T00:00:00.000Z',
});

describe('blob files', () => {
  it('keep the bytes out of the database, survive a restart, and come with a snapshot', async () => {
    const path = join(dir, 'a.db');
    const store = await openSqlJsStore({ path });
    await store.transaction((tx) => tx.backups.insert(backup('u1', 1, 1)));
    // A transaction that fails after writing its blob leaves only an unreferenced file behind.
    await expect(
      store.transaction(async (tx) => {
        await tx.backups.insert(backup('u2', 1, 2));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(readdirSync(blobDirectory(path))).toHaveLength(2);
    await store.snapshotTo!(join(dir, 'copy.db'));
    await store.close();

    const reopened = await openSqlJsStore({ path });
    expect((await reopened.transaction((tx) => tx.backups.latest('p1', 'u1')))?.encryptedBundle).toBe(backup('u1', 1, 1).encryptedBundle);
    expect(await reopened.transaction((tx) => tx.backups.latest('p1', 'u2'))).toBeUndefined();
    await reopened.close();

    const copy = await openSqlJsStore({ path: join(dir, 'copy.db') });
    expect((await copy.transaction((tx) => tx.backups.get('p1', 'u1', 1)))?.encryptedBundle).toBe(backup('u1', 1, 1).encryptedBundle);
    await copy.close();
  });

  it('sweeps a file only after two looks a grace period apart, never a referenced or freshly written one', async () => {
    const blobs = await BlobFiles.open(join(dir, 'b.db'), 1000);
    const kept = await blobs.put(new Uint8Array([1, 2, 3]));
    const orphan = await blobs.put(new Uint8Array([4, 5, 6]));
    const rewritten = await blobs.put(new Uint8Array([7, 8, 9]));
    const referenced = async () => new Set([kept]);
    expect(await blobs.sweep(referenced, 0)).toBe(0); // first look
    expect(await blobs.sweep(referenced, 500)).toBe(0); // within the grace period
    await blobs.put(new Uint8Array([7, 8, 9])); // a transaction about to reference it again
    expect(await blobs.sweep(referenced, 1500)).toBe(1);
    expect(existsSync(join(blobs.dir, orphan))).toBe(false);
    expect(existsSync(join(blobs.dir, kept))).toBe(true);
    expect(existsSync(join(blobs.dir, rewritten))).toBe(true);
    expect(await blobs.sweep(referenced, 3000)).toBe(0); // looked at anew
    expect(await blobs.sweep(referenced, 4500)).toBe(1);
    expect(await blobs.sweep(referenced, 9000)).toBe(0);
    expect(existsSync(join(blobs.dir, kept))).toBe(true);
  });

  it('moves blobs stored inline (older databases, self-contained snapshots) out at start', async () => {
    const path = join(dir, 'c.db');
    const store = await openSqlJsStore({ path });
    await store.transaction((tx) => tx.backups.insert(backup('u1', 1, 3)));
    await store.snapshotTo!(join(dir, 'inline.db'), { selfContained: true });
    await store.close();
    expect(existsSync(blobDirectory(join(dir, 'inline.db')))).toBe(false);
    const restored = await openSqlJsStore({ path: join(dir, 'inline.db') });
    expect(readdirSync(blobDirectory(join(dir, 'inline.db')))).toHaveLength(1);
    expect((await restored.transaction((tx) => tx.backups.latest('p1', 'u1')))?.encryptedBundle).toBe(backup('u1', 1, 3).encryptedBundle);
    await restored.close();
  });
});
