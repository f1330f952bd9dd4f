/**
 * Spawns `prekeyd serve` as a child process for end-to-end tests (WebSocket push, restarts,
 * crashes, signals), the way a user starts it: `node --import tsx src/cli/main.ts serve`.
 *
 * @example
 * const { dbPath } = createDbPath();
 * await seedApiKeys(dbPath, [{ acl: ['events.subscribe'], userIds: ['user_a'] }]); // before the first start
 * const server = await startServerProcess({ dbPath, args: ['--push-heartbeat', '1s'] });
 * await fetch(`${server.url}/healthz`);
 * await server.stop();                                   // SIGTERM, resolves with the exit status
 * const again = await startServerProcess({ dbPath });    // same database
 * again.kill('SIGKILL');
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/open-store.ts';
import { insertApiKey, type TestKeyOptions } from './api-key.ts';
import { masterKey as testMasterKey } from './app.ts';
import { assertNoSecrets } from './log-secrets.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcessOptions {
  /** Database path (file or postgres:// URL); default: `db` in a new temp directory. Reuse it to restart on the same data. */
  dbPath?: string;
  /** `--master-key`; default the tests' master key; null passes none. */
  masterKey?: string | null;
  /** `--log-level` unless `args` sets it; default `info` (request logs are checked for secrets at stop). */
  logLevel?: string;
  /** More command-line arguments after `serve`. */
  args?: string[];
  /** Environment variables added to (or, with undefined, removed from) the test's environment. */
  env?: Record<string, string | undefined>;
  /** How long to wait for the `listening on` line (default 20 s). */
  startTimeoutMs?: number;
  /**
   * What runs the program, up to and excluding `serve`; default
   * `[process.execPath, '--import', 'tsx', 'src/cli/main.ts']`. E.g. `[deno, 'run', '-A', 'src/cli/main.ts']`
   * or `[process.execPath, 'dist/prekeyd.cjs']`.
   */
  command?: string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  /** `http://127.0.0.1:PORT` as announced. */
  url: string;
  /** `ws://127.0.0.1:PORT`. */
  wsUrl: string;
  host: string;
  port: number;
  dbPath: string;
  child: ChildProcess;
  /** stdout and stderr so far, one entry a line (still growing while the process runs). */
  stdout: string[];
  stderr: string[];
  exited: Promise<ExitStatus>;
  /** Resolves with the first stdout line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if still running after `timeoutMs` (default 15 s); resolves with the exit status. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A fresh temp directory and a database path inside it; remove `dir` when done. */
export function createDbPath(): { dir: string; dbPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'prekeyd-proc-'));
  return { dir, dbPath: join(dir, 'db') };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Inserts API keys into an embedded database while no server has it open; returns their tokens in order. */
export async function seedApiKeys(dbPath: string, keys: TestKeyOptions[]): Promise<string[]> {
  const store = await openStore(dbPath);
  try {
    const tokens: string[] = [];
    for (const key of keys) tokens.push((await insertApiKey(store, key)).token);
    return tokens;
  } finally {
    await store.close();
  }
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dbPath = options.dbPath ?? createDbPath().dbPath;
  const extra = options.args ?? [];
  const [executable, ...prefix] = options.command ?? [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
  const args = [...prefix, 'serve', '--host', '127.0.0.1', '--port', '0', '--db', dbPath];
  const masterKey = options.masterKey === undefined ? testMasterKey : options.masterKey;
  if (masterKey !== null) args.push('--master-key', masterKey);
  // Request logs on (info): they are kept in memory and checked for secrets when the server stops.
  if (!extra.includes('--log-level')) args.push('--log-level', options.logLevel ?? 'info');
  args.push(...extra);

  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const [name, value] of Object.entries(options.env ?? {})) if (value === undefined) delete env[name];
  const child = spawn(executable!, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);

  const stdout: string[] = [];
  const stderr: string[] = [];
  const lineWaiters = new Set<{ pattern: RegExp; resolve(line: string): void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    for (const waiter of lineWaiters) {
      if (waiter.pattern.test(line)) {
        lineWaiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<ExitStatus>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    }),
  );

  const waitForLine = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolveLine, reject) => {
      const seen = stdout.find((line) => pattern.test(line));
      if (seen !== undefined) return resolveLine(seen);
      const waiter = { pattern, resolve: (line: string) => (clearTimeout(timer), resolveLine(line)) };
      const timer = setTimeout(() => {
        lineWaiters.delete(waiter);
        reject(new Error(`no stdout line matching ${pattern} within ${timeoutMs} ms\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`));
      }, timeoutMs);
      lineWaiters.add(waiter);
      void exited.then(({ code, signal }) => {
        if (!lineWaiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`server exited (code ${code}, signal ${signal}) before printing ${pattern}\nstderr:\n${stderr.join('\n')}`));
      });
    });

  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };

  let line: string;
  try {
    line = await waitForLine(/listening on http:\/\/\S+:\d+/, options.startTimeoutMs ?? 20_000);
  } catch (error) {
    kill('SIGKILL');
    throw error;
  }
  const match = /listening on (http:\/\/(\S+):(\d+))/.exec(line)!;
  const [, url, host, port] = match as unknown as [string, string, string, string];
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    host,
    port: Number(port),
    dbPath,
    child,
    stdout,
    stderr,
    exited,
    waitForLine,
    kill,
    async stop(timeoutMs = 15_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), timeoutMs);
      const status = await exited;
      clearTimeout(timer);
      assertNoSecrets([...stdout, ...stderr], `server on ${url}`);
      // No request may have hit an unexpected error (a 500) and no promise may have been left unhandled.
      const unexpected = stdout.find((line) => /"msg":"unhandled (error|rejection)"/.test(line));
      if (unexpected) throw new Error(`server on ${url} logged: ${unexpected.slice(0, 500)}`);
      return status;
    },
  };
}
