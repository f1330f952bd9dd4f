/**
 * End-to-end helpers: build into a temporary directory, run prekeyd as a child process, play
 * the register → bundle → push scenario against it over real HTTP and WebSocket, and time a
 * cold start. 127.0.0.1 only.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { registration } from '../helpers/keys.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const masterKey = 'e2e-master-key-0123456789abcdef0123456789abcdef';

const run = promisify(execFile);

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `prekeyd-${prefix}-`));
}

/** Runs build.mjs (the same script as `npm run build`) into `outdir`, never into dist/. */
export async function buildInto(outdir: string, options: { bundleOnly?: boolean } = {}) {
  const args = [join(repoRoot, 'build.mjs'), '--outdir', outdir, ...(options.bundleOnly ? ['--bundle-only'] : [])];
  const started = performance.now();
  const { stdout } = await run(process.execPath, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  return { bundle: join(outdir, 'prekeyd.cjs'), executable: join(outdir, 'prekeyd'), stdout, ms: performance.now() - started };
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** The exit code (null after a signal), once the process has exited. */
  exited: Promise<number | null>;
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

/** Spawns a `serve` command and resolves once it prints `listening on http://HOST:PORT`. */
export function startServerProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const child = spawn(command, args, { env: options.env, cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    }
    return exited;
  };
  return new Promise<ServerProcess>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`no "listening on" line within ${options.timeoutMs ?? 60_000} ms; output:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolvePromise({ url: match[1], child, exited, output: () => output, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening; output:\n${output}`));
    });
  });
}

/** `serve` arguments on a free port of 127.0.0.1 with a fresh database in `dir`. */
export const serveArgs = (dir: string) => ['serve', '--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'prekeyd.db'), '--master-key', masterKey];

async function api(url: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${masterKey}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

/** Collects a WebSocket's JSON frames; `next(predicate)` waits for the first one that matches. */
function frames(socket: WebSocket) {
  const seen: any[] = [];
  const waiters: { predicate: (frame: any) => boolean; done: (frame: any) => void }[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data));
    seen.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done(frame);
      }
    }
  });
  return {
    seen,
    next(predicate: (frame: any) => boolean, timeoutMs = 10_000): Promise<any> {
      const earlier = seen.find(predicate);
      if (earlier) return Promise.resolve(earlier);
      return new Promise((done, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(seen)}`)), timeoutMs);
        waiters.push({
          predicate,
          done: (frame) => {
            clearTimeout(timer);
            done(frame);
          },
        });
      });
    },
  };
}

/**
 * The scenario both runtimes must pass: register a key set, fetch a bundle over HTTP, and
 * receive `prekeys.low` over the push channel once fewer than 5 one-time pre-keys are left.
 */
export async function registerBundleAndPush(url: string, userId: string): Promise<void> {
  expect((await fetch(`${url}/healthz`)).status).toBe(200);

  const { body } = registration(userId, 6);
  const registered = await api(url, 'POST', '/v1/keys/register', body);
  expect(registered.status).toBe(201);
  expect(registered.body.success).toBe(true);

  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/events`, { headers: { authorization: `Bearer ${masterKey}` } });
  const received = frames(socket);
  try {
    await new Promise<void>((open, fail) => {
      socket.once('open', () => open());
      socket.once('error', fail);
      socket.once('unexpected-response', (_request, response) => fail(new Error(`upgrade refused: ${response.statusCode}`)));
    });
    socket.send(JSON.stringify({ type: 'subscribe', userIds: [userId] }));
    const subscribed = await received.next((frame) => frame.type === 'subscribed');
    expect(subscribed.userIds).toEqual([userId]);

    // 6 stored: the first fetch leaves 5, the second 4 — below the default threshold of 5.
    const first = await api(url, 'GET', `/v1/keys/bundle/${userId}`);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({
      userId,
      identityKey: body.identityKey,
      signedPreKey: body.signedPreKey,
      oneTimePreKey: body.oneTimePreKeys[0],
      remainingOneTimePreKeys: 5,
    });
    const second = await api(url, 'GET', `/v1/keys/bundle/${userId}`);
    expect(second.body.data.oneTimePreKey).toEqual(body.oneTimePreKeys[1]);
    expect(second.body.data.remainingOneTimePreKeys).toBe(4);

    const low = await received.next((frame) => frame.type === 'event' && frame.event === 'prekeys.low');
    expect(low).toMatchObject({ userId, data: { remaining: 4, threshold: 5 } });
    expect(low.id).toMatch(/^\d+$/);
    // Only the fetch that crossed the threshold alerts.
    expect(received.seen.filter((frame) => frame.event === 'prekeys.low')).toHaveLength(1);
  } finally {
    socket.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/**
 * Cold start: spawn → first 200 from /healthz, each run on a fresh database. A GET cannot
 * succeed before the `listening on` line, so it is sent as soon as that line appears.
 */
export async function measureColdStart(command: string, args: (dir: string) => string[], env: NodeJS.ProcessEnv | undefined, runs = 5) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = temporaryDirectory('coldstart');
    const started = performance.now();
    const server = await startServerProcess(command, args(dir), { env });
    try {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      times.push(performance.now() - started);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { medianMs: Math.round(median(times)), runsMs: times.map(Math.round) };
}
