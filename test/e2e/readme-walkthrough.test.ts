/** The README's curl walk-through, step by step: bodies from examples/curl-bodies.ts, answers as shown. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { repoRoot, startServerProcess } from '../helpers/server-process.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'prekeyd-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('register → bundle → rotate → revoke as the README shows', async () => {
  // as the README runs it (npx tsx …), in a directory of its own: it writes the bodies to the cwd
  await run(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'examples/curl-bodies.ts'), 'user_abc123'], { cwd: dir });
  const server = await startServerProcess();
  const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };
  const post = (path: string, body: string) => fetch(`${server.url}${path}`, { method: 'POST', headers, body });
  try {
    const registered = await post('/v1/keys/register', readFileSync(join(dir, 'register.json'), 'utf8'));
    expect(registered.status).toBe(201);
    expect(await registered.json()).toMatchObject({
      success: true,
      message: 'Keys registered successfully',
      data: { userId: 'user_abc123', oneTimePreKeysCount: 2, status: 'active' },
    });

    const bundle = await fetch(`${server.url}/v1/keys/bundle/user_abc123`, { headers });
    expect(await bundle.json()).toMatchObject({ success: true, data: { oneTimePreKey: { keyId: expect.any(String) }, remainingOneTimePreKeys: 1 } });

    const rotated = await post('/v1/keys/rotate', readFileSync(join(dir, 'rotate.json'), 'utf8'));
    expect(await rotated.json()).toMatchObject({
      success: true,
      message: 'Keys rotated successfully',
      data: { signedPreKeyRotated: true, oneTimePreKeysAdded: 2, totalOneTimePreKeysAvailable: 3 },
    });

    const revoked = await post('/v1/keys/revoke', JSON.stringify({ userId: 'user_abc123', reason: 'Device compromised' }));
    expect(await revoked.json()).toMatchObject({ success: true, message: 'Keys revoked successfully', data: { userId: 'user_abc123', status: 'revoked' } });
  } finally {
    await server.stop();
  }
});
