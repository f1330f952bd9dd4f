/**
 * Every shell command of the README's "Quick start", "API by example" and "Command line"
 * sections, as written there, in a fresh `git clone` of this repository (issue 22). The commands
 * are read from the clone's README.md, not copied here. What is adapted, and why:
 * - `npm ci`: the clone's package-lock.json must equal this repository's, and node_modules is then
 *   this repository's (a symlink): the same install, without 15 s of copying.
 * - port 8080: the test uses a free port (PREKEYD_PORT, and `127.0.0.1:8080` in the commands).
 * - the server command (`npm start …`) runs in the background until it prints "listening on",
 *   as it would in the first terminal; it gets SIGINT (Ctrl-C) before the "Command line" section,
 *   whose offline commands need the database free.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, expect, it } from 'vitest';
import { runCommand } from './cli-run.ts';
import { repoRoot, temporaryDirectory } from './server-process.ts';

const dir = temporaryDirectory('fresh-clone');
const clone = join(dir, 'prekeyd');
let server: ChildProcess | undefined;
afterAll(() => {
  // npm start runs tsx, which runs node: the whole process group goes, as with a closed terminal.
  try {
    if (server?.pid) process.kill(-server.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The shell commands of the ```sh blocks under a heading (until the next heading of that level or higher). */
function commandsOfSection(readme: string, heading: string): string[][] {
  const level = /^#+/.exec(heading)![0].length;
  const start = readme.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const lines = readme.slice(start + heading.length + 2).split('\n');
  let inFence = false;
  const end = lines.findIndex((line) => {
    if (line.startsWith('```')) inFence = !inFence;
    return !inFence && new RegExp(`^#{1,${level}} `).test(line);
  });
  const section = lines.slice(0, end === -1 ? undefined : end).join('\n');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((block) =>
    block[1]!
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trim().startsWith('#')),
  );
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

it('runs the quick start, the API examples and the command line of the README in a fresh clone', async () => {
  execFileSync('git', ['clone', '--quiet', repoRoot, clone]);
  const readme = readFileSync(join(clone, 'README.md'), 'utf8');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PREKEYD_'))),
    PREKEYD_PORT: String(port),
  };
  delete env.NODE_OPTIONS;
  const adapt = (command: string) => command.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);

  /** Runs commands in one bash (exports carry over), each output fenced so it can be checked on its own. */
  async function runScript(commands: string[]): Promise<Map<string, string>> {
    const script = ['set -euo pipefail', ...commands.flatMap((command, index) => [`printf '\\n@@ ${index}\\n'`, adapt(command)])].join('\n');
    const result = await runCommand('bash', ['-c', script], { cwd: clone, env, timeoutMs: 120_000 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const outputs = new Map<string, string>();
    const parts = result.stdout.split(/\n@@ (\d+)\n/);
    for (let index = 1; index < parts.length; index += 2) outputs.set(commands[Number(parts[index])]!, (parts[index + 1] ?? '').trimEnd());
    for (const [command, output] of outputs) expect(output, command).not.toContain('"success":false');
    return outputs;
  }

  // Quick start, first terminal: npm ci, the master key, the server.
  const [setup, requests] = commandsOfSection(readme, '## Quick start');
  expect(setup![0]).toBe('npm ci');
  expect(readFileSync(join(clone, 'package-lock.json'), 'utf8')).toBe(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'));
  const serverCommand = setup!.find((command) => command.startsWith('npm start'))!;
  await runScript(setup!.filter((command) => command !== 'npm ci' && command !== serverCommand));
  server = spawn('bash', ['-c', `exec ${adapt(serverCommand)}`], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let serverOutput = '';
  server.stderr!.on('data', (chunk: Buffer) => (serverOutput += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within 60 s:\n${serverOutput}`)), 60_000);
    server!.stdout!.on('data', (chunk: Buffer) => {
      serverOutput += chunk;
      if (serverOutput.includes(`listening on http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  expect(serverOutput).not.toMatch(/development master key/); // it runs with the key from the file

  // Second terminal: the quick start's requests, then every API example, in one shell.
  const api = commandsOfSection(readme, '### API by example').flat();
  const outputs = await runScript([...requests!, ...api]);
  const answer = (prefix: string) => [...outputs].find(([command]) => command.startsWith(prefix))?.[1] ?? '';
  expect(answer('curl -s $PREKEYD/healthz')).toBe('{"status":"ok"}');
  expect(answer('curl -s $PREKEYD/v1/keys/bundle/user_abc123')).toMatch(/"oneTimePreKey":\{"keyId":/);
  expect(answer('curl -s -X PUT $PREKEYD/v2/keys')).toBe('204');
  expect(answer('curl -s $PREKEYD/v2/keys -u')).toBe('{"count":5,"pqCount":5}');
  expect(answer('curl -s $PREKEYD/v1/keys/audit/verify')).toMatch(/"valid":true/);
  expect(answer('curl -s -X POST $PREKEYD/v1/keys/revoke')).toMatch(/"status":"revoked"/);

  // Ctrl-C in the first terminal (SIGINT to its process group): a graceful stop that releases the database.
  const exited = new Promise((resolve) => server!.once('exit', resolve));
  process.kill(-server.pid!, 'SIGINT');
  await exited;
  // npm may exit before its child (tsx, then node) has finished closing the database.
  const lock = join(clone, 'prekeyd-data', 'prekeyd.db.lock');
  for (const deadline = Date.now() + 15_000; existsSync(lock) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(serverOutput).toMatch(/shutting down/);
  expect(existsSync(lock), serverOutput).toBe(false);

  // Command line, offline on the quick start's database.
  const cli = await runScript(commandsOfSection(readme, '## Command line').flat());
  const printed = (prefix: string) => [...cli].find(([command]) => command.startsWith(prefix))?.[1] ?? '';
  expect(printed('npx prekeyd --help')).toContain('prekeyd completion bash|zsh|fish');
  expect(JSON.parse(printed('npx prekeyd config print'))).toMatchObject({ port: 9000, eventRetention: '36h' });
  expect(printed('npx prekeyd api-keys list')).toMatch(/^key_\w+\tacme\t/);
  expect(printed('npx prekeyd api-keys revoke')).toMatch(/^Revoked API key key_\w+/);
  expect(printed('npx prekeyd master-key new')).toMatch(/^pkd_master_/);
}, 280_000);
