/**
 * `since`: a client that was away gets every event it missed, once and in order — after a
 * reconnect, while new events keep arriving during the replay, and across a server restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { makePreKeys, makeSignedPreKey, registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { callApi, PushClient, type PushMessage } from './push-client.ts';

const { dir, dbPath } = createDbPath();
let server: ServerProcess;
const clients: PushClient[] = [];

beforeAll(async () => {
  server = await startServerProcess({ dbPath });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  removeDir(dir);
});

const api = (method: string, path: string, body?: unknown) => callApi(server.url, method, path, body, { token: masterKey });

async function subscribed(userIds: string[], since?: string): Promise<{ client: PushClient; cursor: string }> {
  const client = await PushClient.connect(server.wsUrl, { token: masterKey });
  clients.push(client);
  const answer = await client.subscribe(userIds, since);
  expect(answer.type).toBe('subscribed');
  return { client, cursor: answer.cursor as string };
}

/** Ids strictly increasing (hence in order and without duplicates). */
function expectStrictlyIncreasing(events: PushMessage[]): void {
  const ids = events.map((event) => BigInt(event.id));
  for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `ids ${ids[i - 1]} then ${ids[i]}`).toBe(true);
}

/** Registers `userId` and returns a function that causes one more event for it (a replenishment). */
async function registerForEvents(userId: string, preKeys = 10) {
  expect((await api('POST', '/v1/keys/register', registration(userId, preKeys).body)).status).toBe(201);
  return async () => {
    const response = await api('POST', '/v1/keys/rotate', { userId, newOneTimePreKeys: makePreKeys(1) });
    expect(response.status).toBe(200);
  };
}

describe('reconnect with since', () => {
  it('delivers every missed event once, in order, then continues live', async () => {
    const { client: first } = await subscribed(['user_r']);
    const { identity, body } = registration('user_r', 5);
    await api('POST', '/v1/keys/register', body);
    const [registered] = await first.waitForEvents(1);
    await first.close();

    // Away: five events for user_r, interleaved with events of another user.
    await api('GET', '/v1/keys/bundle/user_r'); // 4 left: prekeys.low
    await api('POST', '/v1/keys/register', registration('user_other', 1).body);
    await api('GET', '/v1/keys/bundle/user_r'); // 3 left: prekeys.low
    await api('POST', '/v1/keys/rotate', { userId: 'user_r', newOneTimePreKeys: makePreKeys(3) });
    await api('POST', '/v1/keys/rotate', { userId: 'user_r', newSignedPreKey: makeSignedPreKey(identity) });
    await api('POST', '/v1/keys/revoke', { userId: 'user_r', reason: 'lost phone' });

    const { client: back, cursor } = await subscribed(['user_r'], registered!.id);
    expect(cursor).toBe(registered!.id);
    const missed = await back.waitForEvents(5);
    expect(missed.map((event) => event.event)).toEqual(['prekeys.low', 'prekeys.low', 'prekeys.replenished', 'keys.rotated', 'keys.revoked']);
    expect(missed.map((event) => event.data.remaining ?? null)).toEqual([4, 3, 6, null, null]);
    expect(missed.every((event) => event.userId === 'user_r')).toBe(true);
    expectStrictlyIncreasing([registered!, ...missed]);

    await api('POST', '/v1/keys/register', registration('user_r', 1).body); // live after the replay
    const all = await back.waitForEvents(6);
    await back.ping();
    expect(back.events()).toHaveLength(6);
    expect(all[5]).toMatchObject({ event: 'keys.registered', userId: 'user_r' });
    expectStrictlyIncreasing(all);
  });

  it('has no gap and no duplicate while new events are committed during the replay', async () => {
    const cause = await registerForEvents('user_busy', 10);
    for (let i = 0; i < 120; i++) await cause();

    const { client: replaying } = await subscribed(['user_busy'], '0');
    const concurrent = Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 10; i++) await cause();
    });
    await Promise.all(concurrent);
    const expectedCount = 1 + 120 + 60;
    const received = await replaying.waitForEvents(expectedCount, { timeoutMs: 15_000 });
    await replaying.ping();
    expect(replaying.events()).toHaveLength(expectedCount);
    expectStrictlyIncreasing(received);

    // The same history read back afterwards, all at once, is identical.
    const { client: reference } = await subscribed(['user_busy'], '0');
    await reference.waitForEvents(expectedCount);
    expect(received.map((event) => event.id)).toEqual(reference.events().map((event) => event.id));
  });

  it('without since, sends only events newer than the cursor', async () => {
    const cause = await registerForEvents('user_now');
    const { client, cursor } = await subscribed(['user_now']);
    await cause();
    const [event] = await client.waitForEvents(1);
    await client.ping();
    expect(client.events()).toHaveLength(1);
    expect(BigInt(event!.id) > BigInt(cursor)).toBe(true);
  });
});

describe('across a restart', () => {
  it('keeps events: after SIGTERM and a new start on the same database, since replays what was missed', async () => {
    const { client } = await subscribed(['user_restart']);
    const cause = await registerForEvents('user_restart');
    const [seen] = await client.waitForEvents(1);
    await client.close();
    await cause();
    await cause();

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    server = await startServerProcess({ dbPath });
    await cause();

    const { client: back } = await subscribed(['user_restart'], seen!.id);
    const missed = await back.waitForEvents(3);
    await back.ping();
    expect(back.events()).toHaveLength(3);
    expect(missed.map((event) => [event.event, event.data.remaining])).toEqual([
      ['prekeys.replenished', 11],
      ['prekeys.replenished', 12],
      ['prekeys.replenished', 13],
    ]);
    expectStrictlyIncreasing([seen!, ...missed]);
  });
});
