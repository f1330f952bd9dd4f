/**
 * The same server under Deno (issue 8): the bundle and the TypeScript entry, started with
 * `deno run` (the `deno` dev dependency), serve HTTP and the push channel.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registration } from '../helpers/keys.ts';
import {
  buildInto,
  masterKey,
  measureColdStart,
  registerBundleAndPush,
  repoRoot,
  serveArgs,
  startServerProcess,
  temporaryDirectory,
} from './server-process.ts';

const run = promisify(execFile);

// The native Deno executable of the `deno` dev dependency (its .bin entry may be a Node script).
const denoPackage = createRequire(import.meta.url)('deno/install_api.cjs') as { runInstall(): string };
const deno = denoPackage.runInstall();
// The README's command: no prompt, only what the server needs.
const denoRun = ['run', '--no-prompt', '--allow-net', '--allow-read', '--allow-write', '--allow-env'];
// Deno's own environment only (its cache lives under DENO_DIR or HOME); nothing of Node's.
const denoEnv = {
  PATH: '/nonexistent',
  HOME: process.env.HOME ?? '/tmp',
  ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
};

let bundle: string;
let outdir: string;
const dirs: string[] = [];

beforeAll(async () => {
  outdir = temporaryDirectory('deno-build');
  bundle = (await buildInto(outdir, { bundleOnly: true })).bundle;
}, 60_000);

afterAll(() => {
  for (const dir of [outdir, ...dirs]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function scenario(entry: string, userId: string) {
  const dir = temporaryDirectory('deno-db');
  dirs.push(dir);
  const server = await startServerProcess(deno, [...denoRun, entry, ...serveArgs(dir)], { env: denoEnv, timeoutMs: 90_000 });
  try {
    await registerBundleAndPush(server.url, userId);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

describe('prekeyd under Deno', () => {
  it('deno run dist/prekeyd.cjs: register → bundle → push, clean stop on SIGTERM', async () => {
    await scenario(bundle, 'deno_bundle_alice');
    const cold = await measureColdStart(deno, (dir) => [...denoRun, bundle, ...serveArgs(dir)], denoEnv, 3);
    console.log(`[deno] deno run prekeyd.cjs cold start to 200 /healthz: median ${cold.medianMs} ms (runs ${cold.runsMs.join(', ')})`);
  }, 120_000);

  it('deno run src/cli/main.ts (TypeScript entry, node_modules present): register → bundle → push', async () => {
    await scenario(join(repoRoot, 'src', 'cli', 'main.ts'), 'deno_source_alice');
  }, 120_000);

  it('keeps one server per database; after a crash the lock is taken over, without --allow-run too', async () => {
    const dir = temporaryDirectory('deno-lock');
    dirs.push(dir);
    const args = [...denoRun, bundle, ...serveArgs(dir)];
    const refusal = () =>
      run(deno, args, { env: denoEnv, timeout: 60_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
      );
    const first = await startServerProcess(deno, args, { env: denoEnv });
    const registered = await fetch(`${first.url}/v1/keys/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(registration('deno_lock_alice', 3).body),
    });
    expect(registered.status).toBe(201);

    // Deno refuses process.kill(pid, 0) without --allow-run; the lock's heartbeat tells instead.
    const whileRunning = await refusal();
    expect(whileRunning.code).toBe(2);
    expect(whileRunning.stderr.trim()).toMatch(/^prekeyd: The database .* is in use by process \d+; stop it first\.$/);

    first.child.kill('SIGKILL');
    await first.exited;
    // The dead owner's heartbeat stops: the lock is taken over with the same permissions.
    const restarted = await startServerProcess(deno, args, { env: denoEnv });
    try {
      const bundleResponse = await fetch(`${restarted.url}/v1/keys/bundle/deno_lock_alice`, { headers: { authorization: `Bearer ${masterKey}` } });
      expect(bundleResponse.status).toBe(200);
    } finally {
      expect(await restarted.stop()).toBe(0);
    }
  }, 120_000);
});
