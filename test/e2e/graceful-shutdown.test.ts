/** SIGTERM: stop accepting, finish what is in flight, flush, exit 0 — and every answered write is there after a restart. */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, startServerProcess } from '../helpers/server-process.ts';

const { dir, dbPath } = createDbPath();
afterAll(() => removeDir(dir));
const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };

it('finishes in-flight requests on SIGTERM and keeps every answered write', async () => {
  const server = await startServerProcess({ dbPath });
  // connections opened beforehand, so the requests below are in flight on them when the signal lands
  await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}/healthz`).then((response) => response.arrayBuffer())));
  const requests = Array.from({ length: 40 }, (_, i) =>
    fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers, body: JSON.stringify(registration(`shutdown_${i}`, 20).body) }).then(
      async (response) => ({ userId: `shutdown_${i}`, status: response.status, body: await response.json() }),
      (error: Error) => ({ userId: `shutdown_${i}`, status: 0, body: String(error.cause ?? error) }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 5));
  server.kill('SIGTERM');
  const answers = await Promise.all(requests);
  expect((await server.exited).code).toBe(0);

  const answered = answers.filter((answer) => answer.status !== 0);
  expect(answered.length).toBeGreaterThan(0);
  for (const answer of answered) expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  // whatever was not answered was refused before it started, never cut off half-way
  for (const answer of answers.filter((candidate) => candidate.status === 0))
    expect(answer.body).toMatch(/ECONNREFUSED|ECONNRESET|other side closed|SocketError/);

  const restarted = await startServerProcess({ dbPath });
  try {
    for (const answer of answered) {
      expect((await fetch(`${restarted.url}/v1/keys/verify/${answer.userId}`, { headers })).status).toBe(200);
    }
  } finally {
    await restarted.stop();
  }
});

it('stops gracefully when Ctrl-C arrives twice (the process group and tsx both deliver SIGINT)', async () => {
  const server = await startServerProcess({ dbPath });
  expect((await fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers, body: JSON.stringify(registration('ctrl_c_twice', 20).body) })).status).toBe(
    201,
  );
  // A request still being sent keeps the server in its graceful stop while the second signal lands.
  const inFlight = request(`${server.url}/v1/keys/register`, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } });
  inFlight.on('error', () => {});
  inFlight.write('{"userId":');
  await new Promise((resolve) => setTimeout(resolve, 200));
  server.kill('SIGINT');
  await server.waitForLine(/shutting down/);
  server.kill('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 200));
  inFlight.end('"late"}');
  const exit = await server.exited;
  // Node's default action for the second signal is death by SIGINT, leaving the lock behind.
  expect(exit.signal).toBeNull();
  expect(exit.code).toBe(0);
  expect(existsSync(`${dbPath}.lock`)).toBe(false);
});
