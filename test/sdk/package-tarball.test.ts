/**
 * @prekeyd/client as a user gets it (issue 22): `npm pack`ed, installed with `npm install
 * <tarball>` into an empty folder (offline: it has no dependency to fetch), it pulls no server
 * package, works with `import` and `require`, its types check with and without @types/ws, and
 * the example of its README runs as written against a server.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../e2e/cli-run.ts';
import { masterKey } from '../helpers/app.ts';
import { startServerProcess } from '../helpers/server-process.ts';
import { repoRoot, temporaryDirectory } from '../e2e/server-process.ts';

const dir = temporaryDirectory('sdk-tarball');
const app = join(dir, 'app');
const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'packages/client/build.mjs')], { stdio: 'pipe' });
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], join(repoRoot, 'packages/client')).trim().split('\n').at(-1)!;
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--offline', join(dir, tarball)], app);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('@prekeyd/client from its tarball', () => {
  it('installs alone: no server dependency, nothing but the package itself', () => {
    const installed = readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['@prekeyd']);
    expect(readdirSync(join(app, 'node_modules', '@prekeyd'))).toEqual(['client']);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@prekeyd/client/package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('works with require and with import', async () => {
    const roundTrip = `const keys = sdk.generateKeySet(2); const secret = new Uint8Array(32).fill(7);
      const text = sdk.decryptText(sdk.encrypt('hi', secret, new Uint8Array(1)), secret, new Uint8Array(1));
      console.log(typeof sdk.PrekeydClient, Object.keys(keys.registrationPayload.oneTimePreKeys).length, text);`;
    const required = await runCommand(process.execPath, ['-e', `const sdk = require('@prekeyd/client'); ${roundTrip}`], { cwd: app });
    expect(required.stderr).toBe('');
    expect(required.stdout.trim()).toBe('function 2 hi');
    writeFileSync(join(app, 'imported.mjs'), `import * as sdk from '@prekeyd/client'; ${roundTrip}`);
    const imported = await runCommand(process.execPath, ['imported.mjs'], { cwd: app });
    expect(imported.stderr).toBe('');
    expect(imported.stdout.trim()).toBe('function 2 hi');
  });

  it('has types that check with and without @types/ws, for import and require', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const check = (name: string, files: Record<string, string>, types: string[]) => {
      const project = join(app, name);
      mkdirSync(project);
      for (const [file, text] of Object.entries(files)) writeFileSync(join(project, file), text);
      const compilerOptions = { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023', 'dom'], strict: true, noEmit: true, types };
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts', '*.mts', '*.cts'] }));
      execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    };
    const use = `const client = new PrekeydClient({ baseURL: 'http://127.0.0.1:1', apiKey: 'pkd_x' });
      const keys = client.keys.generateKeySet(1);
      const sent: Promise<unknown> = client.keys.registerKeys('user_a', keys.registrationPayload);
      const message: { version: 1 } = encrypt('hi', new Uint8Array(32), new Uint8Array(1));
      void sent; void message;\n`;
    check(
      'without-ws',
      {
        'esm.mts': `import { PrekeydClient, encrypt } from '@prekeyd/client';\n${use}`,
        'cjs.cts': `import sdk = require('@prekeyd/client');\nconst { PrekeydClient, encrypt } = sdk;\n${use}`,
      },
      [],
    );
    // With @types/ws (and @types/node, which it needs): ws's constructor is accepted for the push channel.
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    for (const types of ['ws', 'node']) symlinkSync(join(repoRoot, 'node_modules/@types', types), join(app, 'node_modules/@types', types));
    check(
      'with-ws',
      {
        'esm.mts': `import WebSocket from 'ws';\nimport { PrekeydClient, encrypt } from '@prekeyd/client';\n${use}new PrekeydClient({ baseURL: 'http://127.0.0.1:1', apiKey: 'pkd_x', WebSocket });\n`,
      },
      ['ws', 'node'],
    );
  }, 180_000); // two tsc runs

  it('runs the example of its README as written', async () => {
    const readme = readFileSync(join(app, 'node_modules/@prekeyd/client/README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)![1]!;
    writeFileSync(join(app, 'example.mjs'), example);
    const server = await startServerProcess();
    try {
      const run = await runCommand(process.execPath, ['example.mjs'], {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', PREKEYD_URL: server.url, PREKEYD_API_KEY: masterKey },
      });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('Hello Bob!\n');
    } finally {
      await server.stop();
    }
  });
});
