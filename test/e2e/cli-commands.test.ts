/**
 * The CLI a newcomer meets (issue 22): help per command, "did you mean", completion scripts,
 * `config print` durations, `master-key new` and `--master-key-file`. Runs the built bundle.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, runCommand } from './cli-run.ts';
import { repoRoot, startServerProcess, temporaryDirectory } from './server-process.ts';
import { expectError } from '../helpers/errors.ts';

let bundle: string;
let dir: string;
const dirs: string[] = [];

beforeAll(async () => {
  const built = await buildBundle();
  bundle = built.bundle;
  dir = temporaryDirectory('cli-commands');
  dirs.push(built.outdir, dir);
}, 60_000);
afterAll(() => {
  for (const path of dirs) rmSync(path, { recursive: true, force: true });
});

const prekeyd = (args: string[], env: Record<string, string> = {}) =>
  runCommand(process.execPath, [bundle, ...args], { timeoutMs: 15_000, cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } });

const commands = ['serve', 'snapshot', 'migrate', 'config', 'api-keys', 'master-key', 'completion'];

describe('prekeyd CLI', () => {
  it.each(commands)("prekeyd %s --help prints that command's own usage", async (command) => {
    const result = await prekeyd([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage(?: \\([^)]*\\))?:?[^\\n]*\\n?[\\s\\S]*prekeyd ${command}`));
    const overview = await prekeyd(['--help']);
    expect(result.stdout).not.toBe(overview.stdout);
  });

  it('suggests the flag or command meant', async () => {
    const flag = await prekeyd(['serve', '--prot', '9000']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim()).toBe('prekeyd: Unknown option --prot. Did you mean --port? (--help lists the options)');
    const subFlag = await prekeyd(['api-keys', 'list', '--projet', 'x', '--db', 'x.db']);
    expect(subFlag.stderr).toMatch(/Did you mean --project\?/);
    const command = await prekeyd(['snapshto']);
    expect(command.code).toBe(2);
    expect(command.stderr.trim()).toBe('prekeyd: unknown command "snapshto". Did you mean snapshot? Run prekeyd --help.');
  });

  it('config print shows durations with their unit', async () => {
    const result = await prekeyd(['config', 'print', '--push-heartbeat', '1500ms'], { PREKEYD_EVENT_RETENTION: '36h' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ signedPrekeyMaxAge: '30d', eventRetention: '36h', pushHeartbeat: '1500ms', port: 8080 });
  });

  it('master-key new prints a key once; --out writes it with mode 0600 and never replaces a file', async () => {
    const printed = await prekeyd(['master-key', 'new']);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^pkd_master_[A-Za-z0-9_-]{43}\n$/);
    expect(printed.stderr).toMatch(/shown only this once[\s\S]*--master-key-file/);
    expect((await prekeyd(['master-key', 'new'])).stdout).not.toBe(printed.stdout);

    const file = join(dir, 'master-key');
    const written = await prekeyd(['master-key', 'new', '--out', file]);
    expect(written.code).toBe(0);
    expect(written.stdout).toBe('');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, 'utf8');
    const again = await prekeyd(['master-key', 'new', '--out', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists already; it is never replaced/);
    expect(readFileSync(file, 'utf8')).toBe(key);
  });

  it('serve --env production --master-key-file uses the key in the file (PREKEYD_MASTER_KEY_FILE too)', async () => {
    const file = join(dir, 'production-key');
    execFileSync(process.execPath, [bundle, 'master-key', 'new', '--out', file]);
    const key = readFileSync(file, 'utf8').trim();
    const db = join(dir, 'production', 'prekeyd.db');
    const server = await startServerProcess(process.execPath, [bundle, 'serve', '--env', 'production', '--port', '0', '--db', db, '--master-key-file', file], {
      env: { PATH: process.env.PATH ?? '' },
    });
    try {
      expect(server.output()).not.toContain(key);
      expect((await fetch(`${server.url}/v1/keys/list`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      await expectError(await fetch(`${server.url}/v1/keys/list`, { headers: { authorization: 'Bearer pkd_master_wrong' } }), 401, 'UNAUTHORIZED');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const fromEnv = await prekeyd(['config', 'print', '--env', 'production'], { PREKEYD_MASTER_KEY_FILE: file });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ masterKey: '********', masterKeyFile: file });
    const both = await prekeyd(['serve', '--master-key-file', file, '--master-key', key, '--db', db]);
    expect(both.stderr.trim()).toBe('prekeyd: Give --master-key or --master-key-file, not both.');
    const missing = await prekeyd(['serve', '--master-key-file', join(dir, 'nope'), '--db', db]);
    expect(missing.stderr).toMatch(/^prekeyd: --master-key-file: cannot read .*nope/);
    writeFileSync(join(dir, 'loose-key'), `${key}\n`);
    chmodSync(join(dir, 'loose-key'), 0o644);
    const loose = await prekeyd(['config', 'print', '--master-key-file', join(dir, 'loose-key')]);
    expect(loose.code).toBe(0);
    expect(loose.stderr).toMatch(/loose-key is readable by other users; chmod 600/);
    expect(JSON.parse(loose.stdout).masterKey).toBe('********');
    expect(loose.stdout).not.toContain(key);
  });

  it('bin/prekeyd.mjs runs dist/prekeyd.cjs once built, and says what to do when neither it nor tsx is there', async () => {
    const clone = join(dir, 'bin-clone');
    mkdirSync(join(clone, 'bin'), { recursive: true });
    copyFileSync(join(repoRoot, 'bin', 'prekeyd.mjs'), join(clone, 'bin', 'prekeyd.mjs'));
    const bare = await runCommand(process.execPath, [join(clone, 'bin', 'prekeyd.mjs'), '--version'], { cwd: clone });
    expect(bare.code).toBe(2);
    expect(bare.stderr.trim()).toBe('prekeyd: neither dist/prekeyd.cjs nor tsx is here: run `npm ci` first (and `npm run build` for the bundle)');
    mkdirSync(join(clone, 'dist'));
    copyFileSync(bundle, join(clone, 'dist', 'prekeyd.cjs'));
    const built = await runCommand(process.execPath, [join(clone, 'bin', 'prekeyd.mjs'), 'serve', '--prot', '1'], { cwd: clone });
    expect(built.stderr.trim()).toBe('prekeyd: Unknown option --prot. Did you mean --port? (--help lists the options)');
  });

  it.each(['bash', 'zsh', 'fish'])('completion %s is a valid script that knows commands and flags', async (shell) => {
    const result = await prekeyd(['completion', shell]);
    expect(result.code).toBe(0);
    const flag = (name: string) => (shell === 'fish' ? `-l ${name}` : `--${name}`);
    for (const word of ['snapshot', 'master-key', 'api-keys', 'create', flag('port'), flag('master-key-file'), flag('create-db')])
      expect(result.stdout).toContain(word);
    const script = join(dir, `completion.${shell}`);
    writeFileSync(script, result.stdout);
    if (shell === 'bash') {
      // Complete `prekeyd serve --po` and `prekeyd api-keys c` as bash would.
      const completed = execFileSync(
        'bash',
        [
          '-c',
          `source ${script}; COMP_WORDS=(prekeyd serve --po); COMP_CWORD=2; _prekeyd; echo "\${COMPREPLY[@]}"; COMP_WORDS=(prekeyd api-keys c); COMP_CWORD=2; _prekeyd; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(completed.split('\n')).toEqual(['--port', 'create', '']);
    }
    for (const [name, check] of [
      ['zsh', ['-n']],
      ['fish', ['--no-execute']],
    ] as const) {
      if (shell === name && existsSync(`/usr/bin/${name}`)) execFileSync(name, [...check, script]);
    }
  });
});
