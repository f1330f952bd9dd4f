/**
 * Attack: one device key stores backup after backup of the largest accepted size. Every version
 * used to be kept inside the embedded database, in memory (195 × 512 KiB: RSS 130 → 482 MiB, all
 * reloaded at start). Now only the newest versions are kept (older ones pruned in the same
 * transaction) and the blobs live in fsynced files beside the database, not in its memory.
 */
import { readdirSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBody } from '../helpers/backup-body.ts';
import { createDbPath, removeDir, seedApiKeys, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const blobBytes = 512 * 1024;
const stores = 40;
const keep = 3;
let server: ServerProcess;
let dir: string;
let token: string;

const rssBytes = async () => {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^prekeyd_process_resident_memory_bytes (\d+)/m.exec(text)?.[1]);
};

beforeAll(async () => {
  const created = createDbPath();
  dir = created.dir;
  [token] = (await seedApiKeys(created.dbPath, [{ acl: ['backups.write', 'backups.read', 'metrics.read'], userIds: ['device_owner'] }])) as [string];
  server = await startServerProcess({ dbPath: created.dbPath, args: ['--backup-versions', String(keep)], logLevel: 'warn', startTimeoutMs: 60_000 });
});
afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

describe('backups cannot grow the server', () => {
  it('keeps only the newest versions, outside the database memory', async () => {
    const post = async (i: number) => {
      const blob = crypto.getRandomValues(new Uint8Array(blobBytes).subarray(0, 65536));
      const bytes = new Uint8Array(blobBytes);
      for (let offset = 0; offset < blobBytes; offset += 65536) bytes.set(blob, offset);
      bytes[0] = i & 0xff;
      bytes[1] = i >> 8;
      const res = await fetch(`${server.url}/v1/keys/backup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(backupBody('device_owner', bytes)),
      });
      expect(res.status).toBe(200);
    };
    for (let i = 0; i < 10; i++) await post(i); // warm up: buffers, JIT, heap
    const before = await rssBytes();
    for (let i = 10; i < stores; i++) await post(i);
    const grown = (await rssBytes()) - before;
    // 30 more blobs are 15 MiB of payload (20 MiB as base64); the process used to keep them twice over.
    expect(grown).toBeLessThan(20 * 1024 * 1024);

    const recover = (version?: number) =>
      fetch(`${server.url}/v1/keys/recover`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'device_owner', ...(version !== undefined && { version }) }),
      });
    const latest = await recover();
    expect(latest.status).toBe(200);
    expect((await latest.json()).data.version).toBe(stores);
    expect((await recover(stores - keep + 1)).status).toBe(200);
    const pruned = await recover(stores - keep);
    expect(pruned.status).toBe(404);
    expect((await pruned.json()).errorCode).toBe('NOT_FOUND');

    // The database file and its journal hold references, not blobs.
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    const dbBytes = files
      .filter((entry) => !entry.parentPath.endsWith('.blobs'))
      .reduce((sum, entry) => sum + statSync(`${entry.parentPath}/${entry.name}`).size, 0);
    expect(dbBytes).toBeLessThan(4 * 1024 * 1024);
  });
});
