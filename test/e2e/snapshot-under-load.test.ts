/**
 * `prekeyd snapshot` while a server takes writes: the copy starts a server holding every write
 * acknowledged before the snapshot began.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, repoRoot, startServerProcess } from '../helpers/server-process.ts';

const run = promisify(execFile);
const { dir, dbPath } = createDbPath();
afterAll(() => removeDir(dir));
const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };

it('copies a running server consistently, with every acknowledged write', async () => {
  const server = await startServerProcess({ dbPath, args: ['--checkpoint-bytes', '65536'] });
  const acknowledged: string[] = [];
  let writing = true;
  let n = 0;
  const writers = Array.from({ length: 4 }, async () => {
    while (writing) {
      const userId = `snap_${n++}`;
      const response = await fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers, body: JSON.stringify(registration(userId, 3).body) });
      if (response.status === 201) acknowledged.push(userId);
    }
  });
  // Enough writes first (counted, not timed: a loaded machine is slower), then the copy beside more.
  for (const deadline = Date.now() + 20_000; acknowledged.length <= 20 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
  const before = [...acknowledged];
  const out = join(dir, 'copy.db');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'snapshot', '--db', dbPath, '--out', out], { cwd: repoRoot });
  expect(stdout).toContain('written to');
  await new Promise((resolve) => setTimeout(resolve, 300));
  writing = false;
  await Promise.all(writers);
  await server.stop();
  expect(before.length).toBeGreaterThan(20);
  expect(acknowledged.length).toBeGreaterThan(before.length); // the server kept writing during the copy

  const restored = await startServerProcess({ dbPath: out });
  try {
    for (const userId of before) {
      const verify = await fetch(`${restored.url}/v1/keys/verify/${userId}`, { headers });
      expect(verify.status, userId).toBe(200);
    }
    const chain = (await (await fetch(`${restored.url}/v1/keys/audit/verify`, { headers })).json()) as { data: { valid: boolean } };
    expect(chain.data.valid).toBe(true);
  } finally {
    await restored.stop();
  }
}, 60_000);
