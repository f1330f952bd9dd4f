/**
 * Two prekeyd server processes on one PostgreSQL database (PREKEYD_TEST_PG_URL; this file runs
 * only in the `postgres` vitest project): pre-keys handed out once across both, push events
 * crossing instances, shared rate and drain limits, one valid audit chain, and the
 * `prekeyd migrate` round trip from an embedded deployment.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { masterKey } from '../helpers/app.ts';
import { freshServerDbUrl } from '../helpers/backend.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey, registration } from '../helpers/keys.ts';
import { makePqPreKey, makePqPreKeys, wire } from '../helpers/pq-keys.ts';
import { createDbPath, removeDir, repoRoot, seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

// 1,000 concurrent fetches come from one address: past the default per-address connection cap (256).
const limits = ['--rate-limit-bundle', '10', '--rate-limit-keys', '1000', '--drain-limit', '3', '--pg-pool-size', '10', '--max-connections-per-ip', '0'];

let database: Awaited<ReturnType<typeof freshServerDbUrl>>;
let a: ServerProcess;
let b: ServerProcess;
let limitedToken: string;
let drainToken: string;

async function call(server: ServerProcess, method: string, path: string, body?: unknown, token = masterKey) {
  const response = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

interface EventFrame {
  type: 'event';
  id: string;
  event: string;
  userId: string;
  data: Record<string, unknown>;
}

/** A push subscriber speaking the SPEC §4 protocol. */
async function subscribe(server: ServerProcess, userIds: string[]) {
  const socket = new WebSocket(`${server.wsUrl}/v1/events`, { headers: { authorization: `Bearer ${masterKey}` } });
  const events: EventFrame[] = [];
  const subscribed = new Promise<{ cursor: string }>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'subscribed') resolve(message);
      else if (message.type === 'event') events.push(message);
      else if (message.type === 'error') reject(new Error(JSON.stringify(message)));
    });
    socket.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'subscribe', userIds }));
  await subscribed;
  return { events, close: () => socket.close() };
}

beforeAll(async () => {
  database = await freshServerDbUrl();
  // The first open applies the schema; the keys are then shared by both instances.
  [limitedToken, drainToken] = (await seedApiKeys(database.url, [{ acl: ['*'] }, { acl: ['*'] }])) as [string, string];
  [a, b] = await Promise.all([startServerProcess({ dbPath: database.url, args: limits }), startServerProcess({ dbPath: database.url, args: limits })]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.drop();
});

describe('two instances on one PostgreSQL database', () => {
  it('hands each of 100 one-time pre-keys out exactly once over 1,000 concurrent fetches through both; pushes reach both', async () => {
    const target = registration('mi_target', 100);
    expect((await call(a, 'POST', '/v1/keys/register', target.body)).status).toBe(201);
    const onA = await subscribe(a, ['mi_target']);
    const onB = await subscribe(b, ['mi_target']);

    const responses = await Promise.all(Array.from({ length: 1000 }, (_, index) => call(index % 2 ? a : b, 'GET', '/v1/keys/bundle/mi_target')));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const keys = responses.map((response) => response.body.data.oneTimePreKey?.keyId ?? null);
    const handedOut = keys.filter((key) => key !== null);
    expect(handedOut).toHaveLength(100);
    expect(new Set(handedOut).size).toBe(100);
    expect(new Set(handedOut)).toEqual(new Set(target.body.oneTimePreKeys.map((key) => key.keyId)));
    expect(keys.filter((key) => key === null)).toHaveLength(900);
    // Each instance answered some of the handed-out keys.
    expect(responses.filter((response, index) => index % 2 === 0 && response.body.data.oneTimePreKey).length).toBeGreaterThan(0);
    expect(responses.filter((response, index) => index % 2 === 1 && response.body.data.oneTimePreKey).length).toBeGreaterThan(0);

    // Counts were exact under concurrency: prekeys.low for 4, 3, 2, 1 left, then exhausted; on both instances, in id order, once.
    for (const subscriber of [onA, onB]) {
      await expect.poll(() => subscriber.events.length, { timeout: 10_000 }).toBe(5);
      expect(subscriber.events.map((event) => [event.event, event.data.remaining ?? null])).toEqual([
        ['prekeys.low', 4],
        ['prekeys.low', 3],
        ['prekeys.low', 2],
        ['prekeys.low', 1],
        ['prekeys.exhausted', null],
      ]);
      const ids = subscriber.events.map((event) => BigInt(event.id));
      expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
    }
    expect(onA.events).toEqual(onB.events);
    onA.close();
    onB.close();
  }, 60_000);

  it('hands each of 100 ML-KEM one-time pre-keys out exactly once over 1,000 concurrent fetches through both, with the EC one in the same transaction', async () => {
    const identity = makeIdentity();
    const lastResort = makePqPreKey(identity, 'mi_pq_lr');
    const body = {
      userId: 'mi_pq',
      identityKey: identity.identityKey,
      signedPreKey: makeSignedPreKey(identity),
      oneTimePreKeys: makePreKeys(100),
      pqOneTimePreKeys: makePqPreKeys(identity, 100),
      pqLastResortPreKey: wire(lastResort),
    };
    expect((await call(a, 'POST', '/v1/keys/register', body)).status).toBe(201);
    const responses = await Promise.all(Array.from({ length: 1000 }, (_, index) => call(index % 2 ? a : b, 'GET', '/v1/keys/bundle/mi_pq')));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const bundles = responses.map((response) => response.body.data);
    const pqOneTime = bundles.filter((bundle) => !bundle.pqPreKey.lastResort).map((bundle) => bundle.pqPreKey.keyId);
    expect(pqOneTime).toHaveLength(100);
    expect(new Set(pqOneTime)).toEqual(new Set(body.pqOneTimePreKeys.map((key) => key.keyId)));
    expect(bundles.filter((bundle) => bundle.pqPreKey.keyId === lastResort.keyId)).toHaveLength(900);
    // Both kinds came from the same transactions: a fetch got both one-time keys or neither.
    expect(bundles.every((bundle) => (bundle.oneTimePreKey === null) === bundle.pqPreKey.lastResort)).toBe(true);
    expect((await call(b, 'GET', '/v1/keys/verify/mi_pq')).body.data).toMatchObject({ oneTimePreKeysRemaining: 0, pqOneTimePreKeysRemaining: 0 });
  }, 60_000);

  it('1,000 concurrent multi-device claims through both hand out each EC and ML-KEM key once; device-list versions stay strictly monotonic', async () => {
    const stored = new Set<string>();
    const storedPq = new Set<string>();
    for (const deviceId of ['d1', 'd2', 'd3', 'd4', 'd5']) {
      const { body: ecBody, identity } = registration('mi_devices', 40, { deviceId });
      const body = {
        ...ecBody,
        pqOneTimePreKeys: makePqPreKeys(identity, 20, `pq_${deviceId}`),
        pqLastResortPreKey: wire(makePqPreKey(identity, `pqlr_${deviceId}`)),
      };
      for (const key of body.oneTimePreKeys) stored.add(key.keyId);
      for (const key of body.pqOneTimePreKeys) storedPq.add(key.keyId);
      expect((await call(deviceId === 'd3' ? b : a, 'POST', '/v1/keys/register', body)).status).toBe(201);
    }
    const onA = await subscribe(a, ['mi_devices']);
    const onB = await subscribe(b, ['mi_devices']);
    const claims = Array.from({ length: 1000 }, (_, index) => call(index % 2 ? a : b, 'GET', '/v1/keys/bundles/mi_devices'));
    // device-list changes through both instances while the claims run
    const changes = [
      call(a, 'POST', '/v1/keys/revoke', { userId: 'mi_devices', deviceId: 'd5' }),
      call(b, 'POST', '/v1/keys/suspend', { userId: 'mi_devices', deviceId: 'd4' }),
      call(a, 'POST', '/v1/keys/register', registration('mi_devices', 3, { deviceId: 'd6' }).body),
      call(b, 'POST', '/v1/keys/register', registration('mi_devices', 3, { deviceId: 'd7' }).body),
    ];
    const [answers, changed] = await Promise.all([Promise.all(claims), Promise.all(changes)]);
    expect(
      changed.map((response) => response.status),
      JSON.stringify(changed.map((response) => response.body)),
    ).toEqual([200, 200, 201, 201]);
    expect(answers.filter((response) => response.status !== 200).map((response) => response.body)).toEqual([]);
    const handedOut: string[] = answers.flatMap((response) =>
      response.body.data.devices.flatMap((bundle: { deviceId: string; oneTimePreKey: { keyId: string } | null }) =>
        bundle.oneTimePreKey && !['d6', 'd7'].includes(bundle.deviceId) ? [bundle.oneTimePreKey.keyId] : [],
      ),
    );
    expect(new Set(handedOut).size).toBe(handedOut.length);
    expect(handedOut.length).toBeGreaterThanOrEqual(120); // d1-d3 are never revoked or suspended
    for (const key of handedOut) expect(stored.has(key)).toBe(true);
    // the ML-KEM keys were taken in the same batched statements: each once, and all 60 of d1-d3
    const pqHandedOut: string[] = answers.flatMap((response) =>
      response.body.data.devices.flatMap((bundle: { pqPreKey: { keyId: string; lastResort: boolean } | null }) =>
        bundle.pqPreKey && !bundle.pqPreKey.lastResort ? [bundle.pqPreKey.keyId] : [],
      ),
    );
    expect(new Set(pqHandedOut).size).toBe(pqHandedOut.length);
    for (const key of pqHandedOut) expect(storedPq.has(key)).toBe(true);
    expect(pqHandedOut.filter((key) => /^pq_d[123]_/.test(key))).toHaveLength(60);

    // versions 5 (registered) … 9 (after the four changes), each pushed once, in order, to both instances
    const final = await call(b, 'GET', '/v1/keys/devices/mi_devices');
    expect(final.body.data.deviceListVersion).toBe(9);
    for (const subscriber of [onA, onB]) {
      await expect.poll(() => subscriber.events.filter((event) => event.event === 'devices.changed').length, { timeout: 10_000 }).toBe(4);
      const versions = subscriber.events.filter((event) => event.event === 'devices.changed').map((event) => event.data.deviceListVersion);
      expect(versions).toEqual([6, 7, 8, 9]);
    }
    onA.close();
    onB.close();
  }, 90_000);

  it('a device connected to instance A receives the prekeys.low caused by a fetch through instance B', async () => {
    expect((await call(a, 'POST', '/v1/keys/register', registration('mi_device', 6).body)).status).toBe(201);
    const device = await subscribe(a, ['mi_device']);
    expect((await call(b, 'GET', '/v1/keys/bundle/mi_device')).body.data.remainingOneTimePreKeys).toBe(5);
    expect((await call(b, 'GET', '/v1/keys/bundle/mi_device')).body.data.remainingOneTimePreKeys).toBe(4);
    await expect
      .poll(() => device.events.map((event) => [event.event, event.userId, event.data.remaining]), { timeout: 5_000 })
      .toEqual([['prekeys.low', 'mi_device', 4]]);
    device.close();
  });

  it('counts rate limits and the drain limit across both instances', async () => {
    expect((await call(a, 'POST', '/v1/keys/register', registration('mi_limits', 50).body)).status).toBe(201);
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 14; i++) {
      const response = await call(i % 2 ? a : b, 'GET', '/v1/keys/bundle/mi_limits', undefined, limitedToken);
      statuses.push(response.status);
      remaining.push(response.headers.get('ratelimit-remaining') ?? '');
    }
    // 10 a minute per API key, whichever instance answers (unless the minute turned meanwhile).
    const allowed = statuses.filter((status) => status === 200).length;
    expect(allowed === 10 || (allowed > 10 && allowed <= 20)).toBe(true);
    if (allowed === 10) {
      expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
      expect(remaining.slice(0, 10)).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);
    }

    const drained: Array<string | null> = [];
    for (let i = 0; i < 6; i++) {
      const response = await call(i % 2 ? a : b, 'GET', '/v1/keys/bundle/mi_limits', undefined, drainToken);
      expect(response.status).toBe(200);
      drained.push(response.body.data.oneTimePreKey?.keyId ?? null);
    }
    // At most 3 of one user's keys a minute for one API key, across both instances.
    const consumed = drained.filter((key) => key !== null).length;
    expect(consumed === 3 || (consumed > 3 && consumed <= 6)).toBe(true);
    if (consumed === 3) expect(drained.slice(3)).toEqual([null, null, null]);
  });

  it('keeps one valid audit chain while both instances write at once', async () => {
    const writes = Array.from({ length: 40 }, (_, index) => {
      const server = index % 2 ? a : b;
      return index % 4 < 2
        ? call(server, 'POST', '/v1/keys/register', registration(`mi_audit_${index}`, 3).body)
        : call(server, 'POST', '/v1/keys/rotate', { userId: 'mi_limits', newOneTimePreKeys: makePreKeys(1) });
    });
    const results = await Promise.all(writes);
    expect(results.filter((result) => result.status >= 300).map((result) => result.body)).toEqual([]);
    const fromA = (await call(a, 'GET', '/v1/keys/audit/verify')).body.data;
    const fromB = (await call(b, 'GET', '/v1/keys/audit/verify')).body.data;
    expect(fromA.valid).toBe(true);
    expect(fromB).toEqual(fromA);
    const listed = (await call(b, 'GET', '/v1/keys/audit?limit=1')).body;
    expect(fromA.entries).toBe(listed.pagination.total);
    expect(fromA.headHash).toBe(listed.data[0].hash);
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('prekeyd migrate', () => {
  it('moves an embedded deployment to PostgreSQL, verified, and a server carries on from it', async () => {
    const { dir, dbPath } = createDbPath();
    const target = await freshServerDbUrl();
    try {
      const embedded = await startServerProcess({ dbPath });
      const user = registration('mig_user', 5);
      expect((await call(embedded, 'POST', '/v1/keys/register', user.body)).status).toBe(201);
      const first = (await call(embedded, 'GET', '/v1/keys/bundle/mig_user')).body.data.oneTimePreKey.keyId;
      const created = await call(embedded, 'POST', '/v1/api-keys', { projectId: 'default', acl: ['keys.read'] });
      expect(created.status).toBe(201);
      const chain = (await call(embedded, 'GET', '/v1/keys/audit/verify')).body.data;
      expect(await embedded.stop()).toMatchObject({ code: 0 });

      const migrated = await runCli(['migrate', '--from', dbPath, '--to', target.url]);
      expect(migrated.stderr).toBe('');
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toMatch(/audit_log\s+\d+\s+\d+/);
      expect(migrated.stdout).toContain(`audit chain of project default: ${chain.entries} entries`);
      expect(migrated.stdout).toContain('Migration complete');

      const again = await runCli(['migrate', '--from', dbPath, '--to', target.url]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already holds prekeyd data.*--force/);

      const server = await startServerProcess({ dbPath: target.url });
      try {
        expect((await call(server, 'GET', '/v1/keys/audit/verify')).body.data).toEqual(chain);
        expect((await call(server, 'GET', '/v1/keys/verify/mig_user', undefined, created.body.data.key)).status).toBe(200);
        const next = (await call(server, 'GET', '/v1/keys/bundle/mig_user')).body.data;
        expect(next.oneTimePreKey.keyId).not.toBe(first);
        expect(next.remainingOneTimePreKeys).toBe(3);
        expect((await call(server, 'GET', '/v1/keys/audit/verify')).body.data).toMatchObject({ valid: true, entries: chain.entries + 3 }); // verify, consumed, fetched
        expect(await server.stop()).toMatchObject({ code: 0 }); // graceful: pool and listener closed
      } finally {
        server.kill('SIGKILL');
      }
    } finally {
      removeDir(dir);
      await target.drop();
    }
  }, 60_000);
});
