/**
 * Key transparency end to end, with spawned processes: `prekeyd witness` cosigning a server's
 * checkpoints (and a down witness blocking nothing), `prekeyd transparency monitor` following
 * the log and exiting non-zero on a fork, and kill -9 while checkpointing never producing two
 * inconsistent checkpoints. (Each spawn costs a tsx start-up: the file keeps them few.)
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { runTransparency } from '../../src/cli/transparency.ts';
import { PrekeydClient } from '../../packages/client/src/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import { formatCheckpoint, parseCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import { openNote, parseNote, parseSignerKey, parseVerifierKey, signNote } from '../../packages/client/src/transparency/note.ts';
import { masterKey } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, repoRoot, startServerProcess } from '../helpers/server-process.ts';
import { referenceRoot } from '../transparency/rfc6962-reference.ts';

const cli = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const text = async (url: string) => (await fetch(url)).text();

/** Starts `prekeyd witness`; resolves once it announces its key and address. */
async function startWitness(args: string[]) {
  const child = spawn(cli[0]!, [...cli.slice(1), 'witness', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let key = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`witness exited with ${code}`)));
    lines.on('line', (line) => {
      key = /key (\S+)$/.exec(line)?.[1] ?? key;
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  return { url, key, stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
}

/** The project's verifier key, once its first checkpoint exists (404 before, within the interval). */
async function logKeyOf(url: string, projectId: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const response = await fetch(`${url}/v1/transparency/${projectId}/key`);
    if (response.ok) return (await response.text()).trim();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no verifier key for ${projectId}`);
}

/** A port free now, for a witness that starts after the server that calls it. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('prekeyd witness', () => {
  it('a down witness blocks nothing; once up it cosigns, and the SDK accepts with a quorum of 1', async () => {
    const { dir, dbPath } = createDbPath();
    dirs.push(dir);
    const witnessUrl = `http://127.0.0.1:${await freePort()}`;
    const server = await startServerProcess({
      dbPath,
      args: ['--transparency', '--transparency-interval', '50ms', '--transparency-origin', 'e2e.test/prekeyd/{project}', '--transparency-witness', witnessUrl],
    });
    let witness: Awaited<ReturnType<typeof startWitness>> | undefined;
    try {
      // The witness is not running yet: the change and the bundle go through, uncosigned.
      expect((await post(server.url, '/v1/keys/register', registration('w_alice', 2).body)).status).toBe(201);
      const plain = new PrekeydClient({ baseURL: server.url, apiKey: masterKey, transparency: { required: true } });
      const started = Date.now();
      expect((await plain.keys.getBundle('w_alice')).transparency?.checkpoint).not.toContain('witness.e2e');
      expect(Date.now() - started).toBeLessThan(10_000);
      const vkey = await logKeyOf(server.url, 'default');

      const port = new URL(witnessUrl).port;
      witness = await startWitness([
        '--name',
        'witness.e2e/w1',
        '--key-file',
        join(dir, 'w1.key'),
        '--state',
        join(dir, 'w1.json'),
        '--log',
        vkey,
        '--port',
        port,
      ]);
      expect((await post(server.url, '/v1/keys/register', registration('w_bob', 2).body)).status).toBe(201);
      const client = new PrekeydClient({
        baseURL: server.url,
        apiKey: masterKey,
        transparency: { logKeys: [vkey], witnesses: [witness.key], quorum: 1, required: true },
      });
      const bundle = await client.keys.getBundle('w_bob');
      expect(bundle.transparency?.checkpoint).toContain('— witness.e2e/w1 ');
      expect(await text(`${server.url}/v1/transparency/default/checkpoint`)).toContain('— witness.e2e/w1 ');
      // The witness's state moved to the cosigned size; a second round proves consistency from there.
      expect((await post(server.url, '/v1/keys/register', registration('w_carol', 2).body)).status).toBe(201);
      expect((await client.keys.getBundle('w_carol')).transparency?.checkpoint).toContain('— witness.e2e/w1 ');
    } finally {
      await witness?.stop();
      await server.stop();
    }
  }, 60_000);
});

describe('prekeyd transparency monitor', () => {
  it('follows the log, reports key changes of watched users, and exits 1 with both checkpoints on a fork', async () => {
    const { dir, dbPath } = createDbPath();
    dirs.push(dir);
    const server = await startServerProcess({ dbPath, args: ['--transparency', '--transparency-interval', '50ms'] });
    const statePath = join(dir, 'monitor.json');
    const monitor = (log: string, key: string, extra: string[] = []) =>
      promisify(execFile)(cli[0]!, [...cli.slice(1), 'transparency', 'monitor', '--log', log, '--key', key, '--state', statePath, '--once', ...extra], {
        cwd: repoRoot,
        timeout: 30_000,
      });
    /** The same command in this process (the spawned one is exercised by the fork case below). */
    const monitorHere = async (log: string, key: string, extra: string[] = []) => {
      const lines: string[] = [];
      const log0 = console.log;
      console.log = (line: string) => void lines.push(line);
      try {
        const code = await runTransparency(['monitor', '--log', log, '--key', key, '--state', statePath, '--once', ...extra]);
        return { code, stdout: lines.join('\n') };
      } finally {
        console.log = log0;
      }
    };
    let logKey: string;
    try {
      const alice = registration('m_alice', 2);
      await post(server.url, '/v1/keys/register', alice.body);
      await post(server.url, '/v1/keys/register', registration('m_other', 2).body);
      await fetch(`${server.url}/v1/keys/verify/m_alice`, { headers: { authorization: `Bearer ${masterKey}` } }); // waits for the checkpoint
      logKey = await logKeyOf(server.url, 'default');
      const log = `${server.url}/v1/transparency/default`;
      const firstRun = await monitorHere(log, logKey, ['--watch', 'm_alice', '--api-key', masterKey]);
      expect(firstRun.code).toBe(0);
      expect(firstRun.stdout).toMatch(/"type":"key-change".*"event":"key-set.registered".*"userId":"m_alice"/);
      expect(firstRun.stdout).not.toContain('m_other');

      await post(server.url, '/v1/keys/revoke', { userId: 'm_alice' });
      await fetch(`${server.url}/v1/keys/verify/m_alice`, { headers: { authorization: `Bearer ${masterKey}` } });
      const second = await monitorHere(log, logKey, ['--watch', 'm_alice', '--api-key', masterKey]);
      expect(second.stdout).toMatch(/"event":"key-set.revoked".*"userId":"m_alice"/);
      expect(second.stdout).not.toContain('key-set.registered');
      expect(second.stdout).toContain('"verified":true');
    } finally {
      await server.stop();
    }

    // A log that shows the monitor another tree of the same size, signed with its real key.
    const store = await openStore(dbPath);
    const head = await store.transaction((tx) => tx.transparency.log('default'));
    await store.close();
    const seen = parseCheckpoint(parseNote(head!.checkpoint!).text);
    const forged = signNote(formatCheckpoint({ origin: seen.origin, size: seen.size, rootHash: new Uint8Array(32).fill(7) }), [
      parseSignerKey(head!.signerKey!),
    ]);
    const fake = new Hono().get('/log/checkpoint', (c) => c.text(forged));
    const fakeServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const started = serve({ fetch: fake.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started));
    });
    try {
      const address = fakeServer.address() as { port: number };
      const failure = await monitor(`http://127.0.0.1:${address.port}/log`, logKey!).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain(`fork: two checkpoints of size ${seen.size} with different roots`);
      expect(failure?.stderr).toContain(head!.checkpoint!.split('\n')[2]!); // the honest root
      expect(failure?.stderr).toContain(forged.split('\n')[2]!); // the forged root
    } finally {
      fakeServer.close();
    }
  }, 60_000);
});

describe('kill -9 while checkpointing', () => {
  it('every checkpoint seen across two crashes is consistent with the final tree', async () => {
    const { dir, dbPath } = createDbPath();
    dirs.push(dir);
    const seen = new Map<string, { size: number; rootHash: Uint8Array; note: string }>();
    let logKey: string | undefined;
    let n = 0;
    for (let round = 0; round < 2; round++) {
      const server = await startServerProcess({ dbPath, args: ['--transparency', '--transparency-interval', '10ms'] });
      let written = 0;
      const enough = () => written >= 8;
      const writes = (async () => {
        while (!enough()) {
          const answer = await post(server.url, '/v1/keys/register', registration(`crash_${round}_${n++}`, 1).body).catch(() => undefined);
          if (answer?.status === 201) written++;
        }
        // Keep writing for a random moment more, so the kill lands mid-write and mid-checkpoint.
        const until = Date.now() + Math.random() * 300;
        while (Date.now() < until)
          void post(server.url, '/v1/keys/register', registration(`crash_${round}_${n++}`, 1).body).catch(() => undefined),
            await new Promise((r) => setTimeout(r, 5));
      })();
      const reads = (async () => {
        while (!enough()) {
          const note = await text(`${server.url}/v1/transparency/default/checkpoint`).catch(() => '');
          if (!note.includes('\n\n')) continue;
          logKey ??= await logKeyOf(server.url, 'default');
          const checkpoint = parseCheckpoint(openNote(note, [parseVerifierKey(logKey)]).text);
          seen.set(`${checkpoint.size}`, { ...checkpoint, note });
        }
      })();
      await Promise.all([writes, reads]);
      server.kill('SIGKILL'); // writes in flight, checkpoints being signed
      await server.exited;
    }
    const final = await startServerProcess({ dbPath, args: ['--transparency', '--transparency-interval', '10ms'] });
    try {
      await post(final.url, '/v1/keys/register', registration('crash_final', 1).body);
      await fetch(`${final.url}/v1/keys/verify/crash_final`, { headers: { authorization: `Bearer ${masterKey}` } });
      const newest = parseCheckpoint(parseNote(await text(`${final.url}/v1/transparency/default/checkpoint`)).text);
      const hashes: Buffer[] = [];
      for (let tile = 0; tile * 256 < newest.size; tile++) {
        const width = Math.min(256, newest.size - tile * 256);
        const bytes = Buffer.from(
          await (await fetch(`${final.url}/v1/transparency/default/tile/0/${String(tile).padStart(3, '0')}${width < 256 ? `.p/${width}` : ''}`)).arrayBuffer(),
        );
        for (let i = 0; i < width; i++) hashes.push(bytes.subarray(i * 32, (i + 1) * 32));
      }
      expect(referenceRoot(hashes)).toEqual(Buffer.from(newest.rootHash));
      expect(seen.size).toBeGreaterThanOrEqual(2);
      for (const checkpoint of seen.values()) {
        expect(checkpoint.size).toBeLessThanOrEqual(newest.size);
        expect(referenceRoot(hashes.slice(0, checkpoint.size)).toString('hex'), `checkpoint of size ${checkpoint.size}`).toBe(
          Buffer.from(checkpoint.rootHash).toString('hex'),
        );
      }
    } finally {
      await final.stop();
    }
  }, 90_000);
});
