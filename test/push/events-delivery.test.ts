/**
 * GET /v1/events end to end: a spawned server, real `ws` clients. Upgrade auth, the protocol,
 * delivery of prekeys.low and keys.revoked, project isolation, limits, bad frames, shutdown.
 */
import { connect as connectTcp } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { callApi, PushClient } from './push-client.ts';

const { dir, dbPath } = createDbPath();
let server: ServerProcess;
let deviceA: string; // a device key: events.subscribe for user_a only
let withoutSubscribe: string;
let projectB: string;
let limited: string;
let expired: string;
const clients: PushClient[] = [];

beforeAll(async () => {
  const everyActionButSubscribe = ['keys.register', 'keys.rotate', 'keys.revoke', 'keys.read', 'bundles.fetch', 'audit.read'];
  [deviceA, withoutSubscribe, projectB, limited, expired] = (await seedApiKeys(dbPath, [
    { acl: ['events.subscribe'], userIds: ['user_a'] },
    { acl: everyActionButSubscribe },
    { projectId: 'project_b', acl: ['*'] },
    { acl: ['events.subscribe'], userIds: ['limit_*'] },
    { acl: ['*'], expiresAt: new Date(Date.now() - 60_000).toISOString() },
  ])) as [string, string, string, string, string];
  server = await startServerProcess({
    dbPath,
    args: ['--push-max-connections-per-key', '3', '--push-max-subscriptions', '5', '--push-max-frame-bytes', '4096'],
  });
});

// Each test opens its own connections: close them so per-key connection counts start at zero.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await server?.exited;
  removeDir(dir);
});

const api = (method: string, path: string, body?: unknown, token = masterKey, headers: Record<string, string> = {}) =>
  callApi(server.url, method, path, body, { token, headers });

async function connect(options: Parameters<typeof PushClient.connect>[1]): Promise<PushClient> {
  const client = await PushClient.connect(server.wsUrl, options);
  clients.push(client);
  return client;
}

describe('upgrade auth', () => {
  it('refuses a missing, unknown or expired key with 401 in the error envelope, before the handshake', async () => {
    for (const token of [undefined, 'pkd_not_a_real_key', expired]) {
      const refused = await PushClient.refused(server.wsUrl, { token });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ success: false, error: expect.any(String), errorCode: 'UNAUTHORIZED' });
    }
  });

  it('refuses a key without events.subscribe with 403', async () => {
    const refused = await PushClient.refused(server.wsUrl, { token: withoutSubscribe });
    expect(refused.status).toBe(403);
    expect(refused.body.errorCode).toBe('FORBIDDEN');
  });

  it('takes the key from ?access_token= and the master key project from ?projectId=', async () => {
    const browser = await connect({ queryToken: masterKey, query: { projectId: 'browser_project' } });
    expect(await browser.subscribe(['browser_user'])).toMatchObject({ type: 'subscribed', userIds: ['browser_user'] });
    await api('POST', '/v1/keys/register', registration('browser_user', 1).body, masterKey, { 'x-project-id': 'browser_project' });
    const [event] = await browser.waitForEvents(1);
    expect(event).toMatchObject({ event: 'keys.registered', userId: 'browser_user' });
  });

  it('answers a plain GET and a bad project id with 400', async () => {
    const plain = await api('GET', '/v1/events');
    expect(plain.status).toBe(400);
    expect(plain.body.errorCode).toBe('VALIDATION_ERROR');
    const badProject = await PushClient.refused(server.wsUrl, { token: masterKey, headers: { 'x-project-id': 'bad project!' } });
    expect(badProject.status).toBe(400);
    expect(badProject.body.errorCode).toBe('VALIDATION_ERROR');
  });
});

describe('delivery', () => {
  it('pushes prekeys.low to a device subscribed for user_a right after the bundle fetch that drops the count below the threshold', async () => {
    await api('POST', '/v1/keys/register', registration('user_a', 6).body);
    const device = await connect({ token: deviceA });
    expect(await device.subscribe(['user_a'])).toMatchObject({ type: 'subscribed', userIds: ['user_a'], cursor: expect.stringMatching(/^\d+$/) });

    expect((await api('GET', '/v1/keys/bundle/user_a')).body.data.oneTimePreKey).not.toBeNull(); // 5 left: not below 5
    const sinceRequest: number[] = [];
    const afterResponse: number[] = [];
    for (const remaining of [4, 3, 2, 1]) {
      const requested = performance.now();
      const fetched = await api('GET', '/v1/keys/bundle/user_a');
      expect(fetched.status).toBe(200);
      // "Within the same second": the only time assertion is this generous timeout; the figures are logged.
      const arrival = await device.waitFor((message) => message.type === 'event' && message.data.remaining === remaining, { timeoutMs: 3_000 });
      sinceRequest.push(arrival.at - requested);
      afterResponse.push(arrival.at - fetched.at);
      expect(arrival.message).toMatchObject({
        type: 'event',
        event: 'prekeys.low',
        userId: 'user_a',
        data: { deviceId: 'default', remaining, threshold: 5 },
        id: expect.stringMatching(/^\d+$/),
        createdAt: expect.any(String),
      });
    }
    await api('GET', '/v1/keys/bundle/user_a');
    const [exhausted] = (await device.waitForEvents(5)).slice(4);
    expect(exhausted).toMatchObject({ event: 'prekeys.exhausted', data: { lastResortAvailable: false } });
    // One event per fetch below the threshold, none for the fetch that left exactly 5.
    expect(device.events().map((event) => event.data.remaining ?? 0)).toEqual([4, 3, 2, 1, 0]);
    const show = (values: number[]) => values.map((ms) => ms.toFixed(1)).join(', ');
    console.log(`prekeys.low arrival (ms) since the bundle request was sent: ${show(sinceRequest)}; relative to its response: ${show(afterResponse)}`);
  });

  it('pushes keys.revoked when the user is revoked', async () => {
    const device = await connect({ token: deviceA });
    await device.subscribe(['user_a']);
    const requested = performance.now();
    const revoked = await api('POST', '/v1/keys/revoke', { userId: 'user_a', reason: 'Device compromised' });
    expect(revoked.status).toBe(200);
    const arrival = await device.waitFor((message) => message.type === 'event', { timeoutMs: 3_000 });
    expect(arrival.message).toMatchObject({
      event: 'keys.revoked',
      userId: 'user_a',
      data: { deviceId: 'default', reason: 'Device compromised', revokedAt: revoked.body.data.revokedAt },
    });
    console.log(
      `keys.revoked arrival (ms) since the revoke request was sent: ${(arrival.at - requested).toFixed(1)}; relative to its response: ${(arrival.at - revoked.at).toFixed(1)}`,
    );
  });

  it('refuses a subscription to a user the key may not act as with FORBIDDEN and keeps the connection open', async () => {
    const device = await connect({ token: deviceA });
    const answer = await device.subscribe(['user_b']);
    expect(answer).toEqual({ type: 'error', errorCode: 'FORBIDDEN', error: expect.stringContaining('user_b') });
    await api('POST', '/v1/keys/register', registration('user_b', 1).body);
    await device.ping();
    expect(device.events()).toEqual([]);
  });

  it('keeps projects apart: a project B key subscribed to user_a never sees project A events', async () => {
    const otherProject = await connect({ token: projectB });
    const home = await connect({ token: masterKey });
    await otherProject.subscribe(['user_shared']);
    await home.subscribe(['user_shared']);
    await api('POST', '/v1/keys/register', registration('user_shared', 1).body); // project default
    await api('POST', '/v1/keys/register', registration('user_shared', 2).body, masterKey, { 'x-project-id': 'project_b' });
    const [homeEvent] = await home.waitForEvents(1);
    const [otherEvent] = await otherProject.waitForEvents(1);
    await home.ping();
    await otherProject.ping();
    expect(home.events()).toHaveLength(1);
    expect(otherProject.events()).toHaveLength(1);
    expect(otherEvent!.id).not.toBe(homeEvent!.id);
    // Replays are partitioned too.
    const replay = await connect({ token: projectB });
    await replay.subscribe(['user_shared'], '0');
    await replay.ping();
    expect(replay.events().map((event) => event.id)).toEqual([otherEvent!.id]);
  });

  it('stops delivering after unsubscribe', async () => {
    const client = await connect({ token: masterKey });
    await client.subscribe(['user_un', 'user_stay']);
    client.send({ type: 'unsubscribe', userIds: ['user_un'] });
    await client.ping();
    await api('POST', '/v1/keys/register', registration('user_un', 1).body);
    await api('POST', '/v1/keys/register', registration('user_stay', 1).body);
    await client.waitForEvents(1);
    await client.ping();
    expect(client.events().map((event) => event.userId)).toEqual(['user_stay']);
  });
});

describe('limits and bad input', () => {
  it('refuses a connection past the per-key limit with 429, and subscriptions past the per-connection limit', async () => {
    const open = [await connect({ token: limited }), await connect({ token: limited }), await connect({ token: limited })];
    const refused = await PushClient.refused(server.wsUrl, { token: limited });
    expect(refused.status).toBe(429);
    expect(refused.body.errorCode).toBe('RATE_LIMITED');
    expect(await open[0]!.subscribe(['limit_1', 'limit_2', 'limit_3', 'limit_4', 'limit_5'])).toMatchObject({ type: 'subscribed' });
    expect(await open[0]!.subscribe(['limit_6'])).toMatchObject({ type: 'error', errorCode: 'VALIDATION_ERROR' });
    expect(await open[0]!.subscribe(['limit_5'])).toMatchObject({ type: 'subscribed' }); // already counted
    await open[2]!.close();
    let again: PushClient | undefined;
    for (let attempt = 0; attempt < 50 && !again; attempt++) {
      again = await connect({ token: limited }).catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return undefined;
      });
    }
    expect(again).toBeDefined();
  });

  it('answers non-JSON, unknown and malformed messages with VALIDATION_ERROR and keeps the connection open', async () => {
    const client = await connect({ token: masterKey });
    const bad = [
      'not json',
      '[1,2]',
      '{"type":"subscribe"}',
      '{"type":"teleport"}',
      '{"type":"subscribe","userIds":"user_a"}',
      '{"type":"subscribe","userIds":["user a"]}',
      '{"type":"subscribe","userIds":["user_a"],"since":"-1"}',
      '{"type":"unsubscribe","userIds":[]}',
    ];
    for (const text of bad) {
      const from = client.received.length;
      client.send(text);
      const { message } = await client.waitFor(() => true, { from });
      expect(message, text).toEqual({ type: 'error', errorCode: 'VALIDATION_ERROR', error: expect.any(String) });
    }
    await client.ping();
    expect(await client.subscribe(['user_ok'])).toMatchObject({ type: 'subscribed' });
  });

  it('closes on a binary frame (1003) and on a frame over the size limit (1009); the server keeps serving', async () => {
    const binary = await connect({ token: masterKey });
    binary.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await binary.closed).code).toBe(1003);

    const large = await connect({ token: masterKey });
    large.send({ type: 'subscribe', userIds: ['x'.repeat(100)], padding: 'p'.repeat(5_000) });
    expect((await large.closed).code).toBe(1009);

    const after = await connect({ token: masterKey });
    await after.ping();
    expect((await api('GET', '/healthz')).status).toBe(200);
  });

  it('refuses upgrades to other paths with 404', async () => {
    const response = await new Promise<number>((resolve, reject) => {
      import('ws').then(({ default: WebSocket }) => {
        const socket = new WebSocket(`${server.wsUrl}/v1/elsewhere`, { headers: { authorization: `Bearer ${masterKey}` } });
        socket.once('unexpected-response', (_request, res) => resolve(res.statusCode ?? 0));
        socket.once('open', () => reject(new Error('accepted')));
        socket.once('error', () => undefined);
      }, reject);
    });
    expect(response).toBe(404);
  });
});

/** Sends a hand-written upgrade request; resolves with the raw HTTP answer. */
function rawUpgrade(target: string, extraHeaders: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(server.port, '127.0.0.1', () => {
      const lines = [
        `GET ${target} HTTP/1.1`,
        `Host: 127.0.0.1:${server.port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        `Authorization: Bearer ${masterKey}`,
      ];
      socket.write(`${[...lines, ...extraHeaders].join('\r\n')}\r\n\r\n`);
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('malformed handshakes', () => {
  it('answers a handshake without Sec-WebSocket-Key, and a malformed target, with 400 in the error envelope', async () => {
    const noKey = await rawUpgrade('/v1/events', ['Sec-WebSocket-Version: 13']);
    expect(noKey).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(noKey.slice(noKey.indexOf('\r\n\r\n') + 4))).toMatchObject({ success: false, errorCode: 'VALIDATION_ERROR' });
    const badTarget = await rawUpgrade('//', ['Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']);
    expect(badTarget).toMatch(/^HTTP\/1\.1 (400|404) /);
    expect((await api('GET', '/healthz')).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('closes every socket with 1001 on SIGTERM and exits 0', async () => {
    const sockets = [await connect({ token: masterKey }), await connect({ token: deviceA })];
    await sockets[1]!.subscribe(['user_a']);
    const status = await server.stop();
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    expect(closes.map((close) => close.code)).toEqual([1001, 1001]);
    expect(status).toEqual({ code: 0, signal: null });
  });
});
