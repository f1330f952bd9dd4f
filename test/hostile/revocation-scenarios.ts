/**
 * Revoking, deleting, narrowing or expiring an API key must end its open WebSockets within 1 s
 * (with the heartbeat off, so no periodic re-check can help), and no event may reach them once
 * the change is acknowledged. Shared by the embedded test (one server) and the PostgreSQL test
 * (the change on one instance, the socket on another).
 */
import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { PushClient } from '../push/push-client.ts';

export const heartbeatOff = ['--push-heartbeat', '0'];

async function call(server: ServerProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${masterKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

let users = 0;

/** A subscriber key for a fresh user, connected and subscribed on `socketServer`, with one event seen. */
async function subscribedKey(admin: ServerProcess, socketServer: ServerProcess, extra: Record<string, unknown> = {}) {
  const userId = `rv_${process.pid}_${++users}`;
  const created = await call(admin, 'POST', '/v1/api-keys', { projectId: 'default', acl: ['events.subscribe'], userIds: [userId], ...extra });
  expect(created.status).toBe(201);
  const client = await PushClient.connect(socketServer.wsUrl, { token: created.body.data.key });
  expect((await client.subscribe([userId])).type).toBe('subscribed');
  expect((await call(admin, 'POST', '/v1/keys/register', registration(userId, 1).body)).status).toBe(201);
  await client.waitForEvents(1, { userId });
  return { userId, uid: created.body.data.uid as string, client };
}

/** After `change` is acknowledged: closed with 1008 within 1 s, and no event of a later write arrives. */
async function expectCutOff(admin: ServerProcess, socketServer: ServerProcess, change: (uid: string) => Promise<number>) {
  const { userId, uid, client } = await subscribedKey(admin, socketServer);
  const seen = client.events(userId).length;
  expect(await change(uid)).toBeLessThan(300);
  const acknowledged = performance.now();
  // A write right after the acknowledgement: its event must not reach the cut-off socket.
  expect((await call(admin, 'POST', '/v1/keys/register', { ...registration(userId, 1).body, deviceId: 'second' })).status).toBe(201);
  const closed = await Promise.race([client.closed, new Promise<undefined>((resolve) => setTimeout(resolve, 3_000))]);
  expect(closed, 'the socket was not closed').toBeDefined();
  expect(closed!.code).toBe(1008);
  expect(closed!.at - acknowledged).toBeLessThan(1_000);
  expect(client.events(userId)).toHaveLength(seen);
}

export async function revocationScenarios(admin: ServerProcess, socketServer: ServerProcess): Promise<void> {
  // Started first: it expires while the others run.
  const expiresAt = new Date(Date.now() + 4_000).toISOString();
  const expiring = await subscribedKey(admin, socketServer, { expiresAt });

  await expectCutOff(admin, socketServer, async (uid) => (await call(admin, 'PATCH', `/v1/api-keys/${uid}`, { revoked: true })).status);
  await expectCutOff(admin, socketServer, async (uid) => (await call(admin, 'DELETE', `/v1/api-keys/${uid}`)).status);
  await expectCutOff(admin, socketServer, async (uid) => (await call(admin, 'PATCH', `/v1/api-keys/${uid}`, { userIds: ['someone_else'] })).status);
  await expectCutOff(admin, socketServer, async (uid) => (await call(admin, 'PATCH', `/v1/api-keys/${uid}`, { acl: ['keys.read'] })).status);

  // A change that takes no right away keeps the socket, which goes on receiving events.
  const kept = await subscribedKey(admin, socketServer);
  expect((await call(admin, 'PATCH', `/v1/api-keys/${kept.uid}`, { description: 'renamed', userIds: [kept.userId, 'more'] })).status).toBe(200);
  expect((await call(admin, 'POST', '/v1/keys/register', { ...registration(kept.userId, 1).body, deviceId: 'second' })).status).toBe(201);
  await kept.client.waitForEvents(2, { userId: kept.userId });
  await kept.client.close();

  const closed = await Promise.race([
    expiring.client.closed,
    new Promise<undefined>((resolve) => setTimeout(resolve, Date.parse(expiresAt) + 1_500 - Date.now())),
  ]);
  expect(closed, "the expired key's socket was not closed").toBeDefined();
  expect(closed!.code).toBe(1008);
  expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt) - 50);
}
