/**
 * The single executable (issue 8): built by build.mjs, run with an empty environment and no
 * Node.js on PATH, it serves HTTP and the push channel.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInto, measureColdStart, registerBundleAndPush, repoRoot, serveArgs, startServerProcess, temporaryDirectory } from './server-process.ts';

const run = promisify(execFile);
const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
// No Node.js reachable: nothing on PATH, no NODE_* variables, no HOME.
const bareEnv = { PATH: '/nonexistent' };

let outdir: string;
let executable: string;
const dirs: string[] = [];

beforeAll(async () => {
  outdir = temporaryDirectory('exe');
  const built = await buildInto(outdir);
  executable = built.executable;
  console.log(`[executable] build.mjs took ${Math.round(built.ms)} ms:\n${built.stdout.trim()}`);
}, 120_000);

afterAll(() => {
  for (const dir of [outdir, ...dirs]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dist/prekeyd (Node single executable)', () => {
  it('prints the package.json version and the help with an empty environment', async () => {
    const version = await run(executable, ['--version'], { env: bareEnv });
    expect(version.stdout.trim()).toBe(packageVersion);
    expect(version.stderr).toBe('');

    const help = await run(executable, ['--help'], { env: bareEnv });
    expect(help.stdout).toContain('prekeyd serve');
    expect(help.stdout).toContain('--master-key');
    expect(help.stderr).toBe('');
  });

  it('serves register → bundle → push with env -i PATH=/nonexistent, then stops with 0 on SIGTERM', async () => {
    const dir = temporaryDirectory('exe-db');
    dirs.push(dir);
    // `env -i` exactly as an operator would type it; cwd outside the repository.
    const server = await startServerProcess('/usr/bin/env', ['-i', 'PATH=/nonexistent', executable, ...serveArgs(dir)], { cwd: dir });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await registerBundleAndPush(server.url, 'exe_alice');
      // /docs works from the executable alone: its scripts are embedded, not read from node_modules.
      const page = await fetch(`${server.url}/docs`);
      expect(page.status).toBe(200);
      for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
        const answer = await fetch(`${server.url}${asset}`);
        expect(answer.status, asset).toBe(200);
        expect((await answer.text()).length, asset).toBeGreaterThan(100_000);
      }
      // So does /console: its front end is built into the executable, gzipped.
      const consolePage = await (await fetch(`${server.url}/console`)).text();
      for (const asset of consolePage.match(/\/console\/app\.(js|css)\?v=[0-9a-f]+/g) ?? []) {
        const answer = await fetch(`${server.url}${asset}`);
        expect(answer.status, asset).toBe(200);
        expect(answer.headers.get('content-security-policy'), asset).toContain("default-src 'self'");
        expect((await answer.text()).length, asset).toBeGreaterThan(3_000);
      }
      expect(consolePage.match(/\/console\/app\.(js|css)\?v=/g)).toHaveLength(2);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // No Node process warning at all: the SEA "experimental feature" notice is disabled and
    // the bundle require()s only built-in modules.
    expect(server.output()).not.toMatch(/\(node:\d+\)|ExperimentalWarning|experimental feature/);
  });

  it('measures size and cold start (spawn → first 200 from /healthz)', async () => {
    const sizeMiB = statSync(executable).size / 1024 / 1024;
    const exe = await measureColdStart(executable, serveArgs, bareEnv);
    const bundle = await measureColdStart(process.execPath, (dir) => [join(outdir, 'prekeyd.cjs'), ...serveArgs(dir)], {});
    console.log(
      `[executable] size ${sizeMiB.toFixed(1)} MiB; cold start to 200 /healthz: median ${exe.medianMs} ms (runs ${exe.runsMs.join(', ')}); ` +
        `node prekeyd.cjs: median ${bundle.medianMs} ms (runs ${bundle.runsMs.join(', ')})`,
    );
    expect(sizeMiB).toBeGreaterThan(1);
    expect(exe.runsMs).toHaveLength(5);
  }, 60_000);
});
