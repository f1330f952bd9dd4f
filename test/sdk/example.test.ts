/** examples/two-users.ts runs as documented (self-contained: it starts its own server). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/server-process.ts';

it("npx tsx examples/two-users.ts: Bob decrypts Alice's message with the secret both derived", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/two-users.ts'], {
    cwd: repoRoot,
    env: { ...process.env, PREKEYD_URL: '', PREKEYD_API_KEY: '', PREKEYD_MASTER_KEY: '' },
    timeout: 60_000,
  });
  expect(stdout).toMatch(/\[server\] prekeyd \S+ listening on http:\/\/127\.0\.0\.1:\d+/);
  expect(stdout).toMatch(/Alice: session sess_[0-9a-f]{32}, secret 32 bytes, Bob's fingerprint [0-9a-f]{16}/);
  expect(stdout).toMatch(/Bob: from user_a_[0-9a-f]{6} \(fingerprint [0-9a-f]{16}\): \{"text":"Hello Bob!"\}/);
  expect(stdout).toContain('Same secret on both sides: true');
}, 60_000);
