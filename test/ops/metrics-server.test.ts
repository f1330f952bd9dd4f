/** The metrics of a running server, scraped from --metrics-port: store figures, consumption, journal, push. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { masterKey } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { expectError } from '../helpers/errors.ts';

let server: ServerProcess;
let metricsUrl: string;
const auth = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };

beforeAll(async () => {
  server = await startServerProcess({ args: ['--metrics-port', '0'] });
  metricsUrl = /metrics on (\S+)/.exec(await server.waitForLine(/metrics on /))![1]!;
});
afterAll(() => server?.stop());

function value(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}

it('counts what happened and reads the store figures, without auth on the metrics port', async () => {
  await fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers: auth, body: JSON.stringify(registration('metrics_a', 6).body) });
  await fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers: auth, body: JSON.stringify(registration('metrics_b', 2).body) });
  await fetch(`${server.url}/v1/keys/revoke`, { method: 'POST', headers: auth, body: JSON.stringify({ userId: 'metrics_b' }) });
  const socket = new WebSocket(`${server.wsUrl}/v1/events`, { headers: { authorization: `Bearer ${masterKey}` } });
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'subscribe', userIds: ['metrics_a'] }));
  const event = new Promise((resolve) => socket.on('message', (raw) => JSON.parse(raw.toString()).type === 'event' && resolve(undefined)));
  await new Promise((resolve) => socket.once('message', resolve));
  for (let i = 0; i < 2; i++) await (await fetch(`${server.url}/v1/keys/bundle/metrics_a`, { headers: auth })).arrayBuffer();
  await event;

  const text = await (await fetch(metricsUrl)).text();
  expect(value(text, 'prekeyd_one_time_prekeys_consumed_total{kind="ec"}')).toBe(2);
  expect(value(text, 'prekeyd_one_time_prekeys_remaining')).toBe(4);
  expect(value(text, 'prekeyd_key_sets{status="active"}')).toBe(1);
  expect(value(text, 'prekeyd_key_sets{status="revoked"}')).toBe(1);
  expect(value(text, 'prekeyd_push_connections')).toBe(1);
  expect(value(text, 'prekeyd_push_events_sent_total')).toBeGreaterThanOrEqual(1);
  expect(value(text, 'prekeyd_journal_flush_seconds_count')).toBeGreaterThan(0);
  expect(value(text, 'prekeyd_http_requests_total{method="GET",route="/v1/keys/bundle/:userId",status="200"}')).toBe(2);
  socket.close();
  // the main port still wants a key
  await expectError(await fetch(`${server.url}/metrics`), 401, 'UNAUTHORIZED');
});
