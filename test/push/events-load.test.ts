/**
 * The hub under load: 1,000 concurrent subscribers, a client that stops reading while a healthy
 * one is measured, and heartbeats that drop dead peers. Latencies are logged, never asserted
 * beyond a generous timeout (timing on a shared machine is not a correctness signal).
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { makePreKeys, registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { callApi, connectMany, PushClient } from './push-client.ts';

const { dir, dbPath } = createDbPath();
let server: ServerProcess;

beforeAll(async () => {
  // 1,000 sockets from one address: past the default per-address cap (256). The stalled-client test reads the 1013 log line.
  server = await startServerProcess({ dbPath, logLevel: 'info', args: ['--max-connections-per-ip', '0'] });
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  removeDir(dir);
});

const api = (method: string, path: string, body?: unknown) => callApi(server.url, method, path, body, { token: masterKey });

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const summary = (values: number[]) =>
  `median ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;

/** Runs `tasks` with at most `width` at a time. */
async function inParallel<T>(width: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

describe('1,000 concurrent connections', () => {
  it('each receives its own user event and no other', async () => {
    const count = 1000;
    const userOf = (index: number) => `load_user_${index}`;
    const clients = await connectMany(count, server.wsUrl, () => ({ token: masterKey }));
    try {
      const answers = await Promise.all(clients.map((client, index) => client.subscribe([userOf(index)])));
      expect(answers.every((answer) => answer.type === 'subscribed')).toBe(true);

      const bodies = Array.from({ length: count }, (_, index) => registration(userOf(index), 1).body);
      const sentAt: number[] = [];
      await inParallel(
        16,
        bodies.map((body, index) => async () => {
          sentAt[index] = performance.now();
          expect((await api('POST', '/v1/keys/register', body)).status).toBe(201);
        }),
      );
      const arrivals = await Promise.all(clients.map((client) => client.waitFor((message) => message.type === 'event', { timeoutMs: 20_000 })));
      await Promise.all(clients.map((client) => client.ping(10_000)));

      clients.forEach((client, index) => {
        expect(client.events(), `connection ${index}`).toHaveLength(1);
        expect(client.events()[0]).toMatchObject({ event: 'keys.registered', userId: userOf(index) });
      });
      const latencies = arrivals.map((arrival, index) => arrival.at - sentAt[index]!);
      console.log(`1,000 connections, keys.registered arrival since each register request: ${summary(latencies)}`);
    } finally {
      for (const client of clients) client.socket.terminate();
    }
  }, 90_000); // 1,000 connections and 1,000 registrations: minutes on a loaded 2-core machine are no failure
});

/**
 * `count` masked text frames of an unknown message type, as one buffer (mask key 0 leaves the
 * payload as is). Each costs the server little to parse and is answered by a ~140-byte `error`.
 */
function unknownTypeFrames(count: number): Buffer {
  const payload = Buffer.from(`{"type":"${'stall'.repeat(8)}"}`);
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

describe('a stalled client', () => {
  it('does not delay events to a healthy client nor the HTTP API, and is closed with 1013 once past the buffer cap', async () => {
    await api('POST', '/v1/keys/register', registration('user_h', 1).body);
    const healthy = await PushClient.connect(server.wsUrl, { token: masterKey });
    const stalled = await PushClient.connect(server.wsUrl, { token: masterKey });
    const closedForLag = () => server.stdout.some((line) => line.includes('fell behind'));
    try {
      await healthy.subscribe(['user_h']);
      await stalled.subscribe(['user_h']); // every event measured below is queued for the stalled client too

      /** Causes `rounds` events; per event: arrival at the healthy client and HTTP time, since the request. */
      const measure = async (rounds: number) => {
        const arrivals: number[] = [];
        const http: number[] = [];
        for (let i = 0; i < rounds; i++) {
          const expected = healthy.events().length + 1;
          const requested = performance.now();
          const response = await api('POST', '/v1/keys/rotate', { userId: 'user_h', newOneTimePreKeys: makePreKeys(1) });
          expect(response.status).toBe(200);
          await healthy.waitForEvents(expected, { timeoutMs: 5_000 });
          arrivals.push(healthy.received.at(-1)!.at - requested);
          http.push(response.at - requested);
        }
        return { arrivals, http };
      };
      const baseline = await measure(10);

      // Stop reading; make the server write ~0.5 MB to this client per step. The kernel buffers
      // fill first (a few MiB on loopback), then the server-side buffer, until it passes 1 MiB.
      const raw = (stalled.socket as unknown as { _socket: Socket })._socket;
      raw.pause();
      const step = unknownTypeFrames(3_500);
      const whileConnected = { arrivals: [] as number[], http: [] as number[] };
      let steps = 0;
      while (!closedForLag() && steps < 30) {
        steps++;
        await new Promise<void>((resolve) => raw.write(step, () => resolve()));
        await healthy.ping(); // the server has caught up with the stalled client's frames
        if (closedForLag()) break;
        const { arrivals, http } = await measure(3);
        whileConnected.arrivals.push(...arrivals);
        whileConnected.http.push(...http);
      }
      await server.waitForLine(/fell behind/, 5_000);
      expect(whileConnected.arrivals.length).toBeGreaterThan(0); // measured while the stalled client was still connected
      const afterClose = await measure(5);

      const healthyEvents = healthy.events();
      expect(healthyEvents).toHaveLength(15 + whileConnected.arrivals.length);
      expect(new Set(healthyEvents.map((event) => event.id)).size).toBe(healthyEvents.length);
      await healthy.ping();

      raw.resume(); // read the backlog: it ends with the server's close frame
      const close = await stalled.closed;
      expect(close.code).toBe(1013);
      const answers = stalled.messages.filter((message) => message.type === 'error');
      const answerBytes = answers.reduce((sum, message) => sum + JSON.stringify(message).length + 4, 0); // + frame header
      console.log(
        [
          `healthy client, event arrival since the request: baseline ${summary(baseline.arrivals)}`,
          `  while the stalled client was connected and filling (${steps} steps of ~0.5 MB): ${summary(whileConnected.arrivals)}`,
          `  after it was closed: ${summary(afterClose.arrivals)}`,
          `HTTP rotate: baseline ${summary(baseline.http)}; while stalled ${summary(whileConnected.http)}`,
          `the stalled client read ${answers.length} answers (${(answerBytes / 1048576).toFixed(1)} MiB) and then its 1013 close`,
        ].join('\n'),
      );
    } finally {
      healthy.socket.terminate();
      stalled.socket.terminate();
    }
  });
});

describe('heartbeat', () => {
  it('pings every interval, drops a peer that does not answer and the connections of a revoked key', async () => {
    const quick = await startServerProcess({ args: ['--push-heartbeat', '200ms'] });
    try {
      const created = await callApi(quick.url, 'POST', '/v1/api-keys', { projectId: 'default', acl: ['events.subscribe'] }, { token: masterKey });
      expect(created.status).toBe(201);
      const device = await PushClient.connect(quick.wsUrl, { token: created.body.data.key });
      await device.subscribe(['user_device']);
      expect((await callApi(quick.url, 'PATCH', `/v1/api-keys/${created.body.data.uid}`, { revoked: true }, { token: masterKey })).status).toBe(200);
      expect((await device.closed).code).toBe(1008);

      const answering = await PushClient.connect(quick.wsUrl, { token: masterKey });
      const silent = await PushClient.connect(quick.wsUrl, { token: masterKey, ws: { autoPong: false } });
      let pings = 0;
      answering.socket.on('ping', () => pings++);
      const dropped = await silent.closed;
      expect(dropped.code).toBe(1006); // terminated: no closing handshake with a dead peer
      await new Promise((resolve) => setTimeout(resolve, 250));
      await answering.ping();
      expect(pings).toBeGreaterThanOrEqual(2);
      answering.socket.terminate();
    } finally {
      quick.kill('SIGKILL');
      await quick.exited;
      removeDir(quick.dbPath.replace(/\/db$/, ''));
    }
  });
});
