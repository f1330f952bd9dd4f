/** SIGTERM: stop accepting, finish what is in flight, flush, exit 0 — and every answered write is there after a restart. */
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
  for (const answer of answers.filter((candidate) => candidate.status === 0)) expect(answer.body).toMatch(/ECONNREFUSED|ECONNRESET|other side closed|SocketError/);

  const restarted = await startServerProcess({ dbPath });
  try {
    for (const answer of answered) {
      expect((await fetch(`${restarted.url}/v1/keys/verify/${answer.userId}`, { headers })).status).toBe(200);
    }
  } finally {
    await restarted.stop();
  }
});
