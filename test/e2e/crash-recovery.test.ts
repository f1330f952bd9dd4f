import { afterAll, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { runCrashLoop } from '../helpers/crash-loop.ts';
import { registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, startServerProcess } from '../helpers/server-process.ts';

const { dir, dbPath } = createDbPath();
afterAll(() => removeDir(dir));

it('loses no acknowledged write and never hands out a one-time pre-key twice across SIGKILLs', async () => {
  const report = await runCrashLoop({ dbPath, cycles: 3, minAckedPerCycle: 25 });
  expect(report.cycles).toBe(3);
  expect(report.registrationsAcked).toBeGreaterThan(10);
  expect(report.rotationsAcked).toBeGreaterThan(5);
  expect(report.keysHandedOut).toBeGreaterThan(10);
}, 120_000);

it('starts over a torn or corrupted journal tail, keeping every intact record', async () => {
  const { appendFileSync, readdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const { dir: tornDir, dbPath: tornDb } = createDbPath();
  try {
    const server = await startServerProcess({ dbPath: tornDb });
    const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers, body: JSON.stringify(registration(`torn_${i}`, 2).body) });
      expect(response.status).toBe(201);
    }
    server.kill('SIGKILL');
    await server.exited;
    const newestJournal = () =>
      `${tornDir}/${readdirSync(tornDir)
        .filter((name) => name.includes('.journal.'))
        .sort()
        .at(-1)!}`;
    const path = newestJournal();
    // a torn last record: a header promising more bytes than follow, then noise
    appendFileSync(path, Buffer.from([0x00, 0x10, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x7b, 0x22]));
    const restarted = await startServerProcess({ dbPath: tornDb });
    for (let i = 0; i < 5; i++) expect((await fetch(`${restarted.url}/v1/keys/verify/torn_${i}`, { headers })).status).toBe(200);
    expect(
      (await fetch(`${restarted.url}/v1/keys/register`, { method: 'POST', headers, body: JSON.stringify(registration('torn_after', 2).body) })).status,
    ).toBe(201);
    restarted.kill('SIGKILL');
    await restarted.exited;
    // a flipped byte in the last record: that record is dropped, everything before it stays
    const bytes = readFileSync(newestJournal());
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    writeFileSync(newestJournal(), bytes);
    const again = await startServerProcess({ dbPath: tornDb });
    for (let i = 0; i < 5; i++) expect((await fetch(`${again.url}/v1/keys/verify/torn_${i}`, { headers })).status).toBe(200);
    await again.stop();
  } finally {
    removeDir(tornDir);
  }
}, 60_000);
