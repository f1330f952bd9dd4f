import { afterAll, expect, it } from 'vitest';
import { runCrashLoop } from '../helpers/crash-loop.ts';
import { createDbPath, removeDir } from '../helpers/server-process.ts';

const { dir, dbPath } = createDbPath();
afterAll(() => removeDir(dir));

it('loses no acknowledged write and never hands out a one-time pre-key twice across SIGKILLs', async () => {
  const report = await runCrashLoop({ dbPath, cycles: 3 });
  expect(report.cycles).toBe(3);
  expect(report.registrationsAcked).toBeGreaterThan(10);
  expect(report.rotationsAcked).toBeGreaterThan(5);
  expect(report.keysHandedOut).toBeGreaterThan(10);
}, 120_000);
