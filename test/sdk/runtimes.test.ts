/**
 * The bundled client (esbuild, ESM, platform neutral — dist/client.js) in Deno, against a real
 * spawned server with Deno's own global fetch and WebSocket. The browser run is in
 * test/browser/sdk-runtime.browser.ts.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { repoRoot, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { buildClientBundle, expectedScenario } from './client-bundle.ts';

const run = promisify(execFile);
let dir: string;
let bundle: string;
let inputs: string[];
let server: ServerProcess;

beforeAll(async () => {
  ({ dir, bundle, inputs } = await buildClientBundle());
  server = await startServerProcess();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the bundled client', () => {
  it('holds nothing of Node and no server code', () => {
    expect(inputs.length).toBeGreaterThan(5);
    expect(inputs.filter((input) => input.startsWith('node:') || /src\/(store|domain|http|routes|push)\//.test(input))).toEqual([]);
  });

  it('Deno: X3DH, messages, backups and the push channel with the global WebSocket', async () => {
    const deno = (createRequire(import.meta.url)('deno/install_api.cjs') as { runInstall(): string }).runInstall();
    const { stdout } = await run(
      deno,
      [
        'run',
        '--no-prompt',
        `--allow-net=${server.host}:${server.port}`,
        `--allow-read=${dir},${join(repoRoot, 'test/sdk')}`,
        join(repoRoot, 'test/sdk/deno-runner.js'),
        bundle,
        server.url,
        masterKey,
        'deno',
      ],
      { env: { PATH: '/nonexistent', HOME: process.env.HOME ?? '/tmp', ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}) }, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual(expectedScenario);
  }, 90_000);
});
