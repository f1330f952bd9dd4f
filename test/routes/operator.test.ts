/** GET /v1/whoami, /v1/admin/status, /v1/admin/users/:userId/key-sets, and the key list's userIdPrefix. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ settings: { signedPreKeyHistoryKept: 100 }, http: { rateLimitKeys: 50, rateLimitBundle: 20 } });
});
afterAll(() => t.close());

describe('GET /v1/whoami', () => {
  it('tells the master key its project (X-Project-Id) and that it may do everything', async () => {
    const { status, body } = await t.call('GET', '/v1/whoami', undefined, { headers: { 'x-project-id': 'acme' } });
    expect(status).toBe(200);
    expect(body.data).toEqual({
      kind: 'master',
      uid: 'master',
      projectId: 'acme',
      acl: ['*'],
      userIds: ['*'],
      prefix: null,
      description: null,
      expiresAt: null,
      limits: { preKeyLowThreshold: 5, rateLimitKeys: 0, rateLimitBundle: 0, drainLimitPerMinute: 0 },
    });
  });

  it('tells an API key its own ACL, patterns and project, and nothing secret, whatever X-Project-Id says', async () => {
    const key = await insertApiKey(t.store, { projectId: 'p_who', acl: ['keys.read', 'audit.read'], userIds: ['team_*'] });
    const { status, body } = await t.call('GET', '/v1/whoami', undefined, { token: key.token, headers: { 'x-project-id': 'other' } });
    expect(status).toBe(200);
    expect(body.data).toMatchObject({ kind: 'apiKey', uid: key.uid, projectId: 'p_who', acl: ['keys.read', 'audit.read'], userIds: ['team_*'] });
    expect(body.data.prefix).toBe(key.token.slice(0, 12));
    expect(body.data.limits).toEqual({ preKeyLowThreshold: 5, rateLimitKeys: 50, rateLimitBundle: 20, drainLimitPerMinute: 30 });
    expect(JSON.stringify(body)).not.toContain(key.token);
    expect(body.data).not.toHaveProperty('hash');
  });

  it('refuses missing, unknown and revoked keys with 401 UNAUTHORIZED', async () => {
    const revoked = await insertApiKey(t.store, { revoked: true });
    for (const token of [null, 'pkd_unknown', revoked.token]) {
      const { status, body } = await t.call('GET', '/v1/whoami', undefined, { token });
      expect(status).toBe(401);
      expect(body.errorCode).toBe('UNAUTHORIZED');
    }
  });
});

describe('GET /v1/admin/status', () => {
  it('reports version, storage, traffic per minute, push connections, figures and the key’s rate-limit use', async () => {
    // Figures are per minute: start well inside one, so that all these requests fall in it.
    const untilNextMinute = 60_000 - (Date.now() % 60_000);
    if (untilNextMinute < 5_000) await new Promise((resolve) => setTimeout(resolve, untilNextMinute + 50));
    const metrics = createMetrics();
    const app = createApp({ ...t.deps, metrics, version: '9.9.9' });
    const key = await insertApiKey(t.store, { acl: ['metrics.read', 'keys.read'] });
    const auth = { authorization: `Bearer ${key.token}` };
    await app.request('/v1/keys/list', { headers: auth });
    await app.request('/v1/keys/verify/nobody_here', { headers: auth }); // 404: a client error
    metrics.pushConnections.set(3);
    const response = await app.request('/v1/admin/status', { headers: auth });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: any };
    expect(data.version).toBe('9.9.9');
    expect(data.storage.backend).toBe(t.store.kind);
    expect(data.storage.ready).toBe(true);
    if (t.store.kind === 'sqljs') expect(data.storage.bytes).toBeGreaterThan(0);
    expect(data.pushConnections).toBe(3);
    expect(data.traffic).toHaveLength(30);
    const current = data.traffic.at(-1);
    expect(current.requests).toBe(2);
    expect(current.clientErrors).toBe(1);
    expect(data.keySets).toEqual(expect.objectContaining({ active: expect.any(Number), revoked: expect.any(Number) }));
    expect(data.limits.preKeyLowThreshold).toBe(5);
    // Two /v1/keys requests this minute against the keys limit of 50.
    expect(data.rateLimitUse).toEqual({ limited: true, keys: { limit: 50, used: 2 }, bundle: { limit: 20, used: 0 } });
  });

  it('needs metrics.read (403 FORBIDDEN) and a key (401)', async () => {
    const key = await insertApiKey(t.store, { acl: ['keys.read'] });
    const refused = await t.call('GET', '/v1/admin/status', undefined, { token: key.token });
    expect(refused.status).toBe(403);
    expect(refused.body.errorCode).toBe('FORBIDDEN');
    expect((await t.call('GET', '/v1/admin/status', undefined, { token: null })).body.errorCode).toBe('UNAUTHORIZED');
    const master = await t.call('GET', '/v1/admin/status');
    expect(master.body.data.rateLimitUse.limited).toBe(false);
    expect(master.body.data.traffic).toEqual([]); // no metrics in this app
  });
});

describe('GET /v1/admin/users/:userId/key-sets', () => {
  it('lists every device with pre-key levels, the low threshold and rotation history, newest first', async () => {
    const { body, identity } = registration('ops_user', 3, { deviceId: 'phone', deviceName: 'Phone' });
    await t.call('POST', '/v1/keys/register', body);
    await t.call('POST', '/v1/keys/register', registration('ops_user', 7, { deviceId: 'laptop' }).body);
    await t.call('POST', '/v1/keys/rotate', { userId: 'ops_user', deviceId: 'phone', newSignedPreKey: makeSignedPreKey(identity, 'spk_r1') });
    await t.call('POST', '/v1/keys/rotate', { userId: 'ops_user', deviceId: 'phone', newSignedPreKey: makeSignedPreKey(identity, 'spk_r2') });
    await t.call('POST', '/v1/keys/suspend', { userId: 'ops_user', deviceId: 'laptop', reason: 'lost' });

    const { status, body: answer } = await t.call('GET', '/v1/admin/users/ops_user/key-sets');
    expect(status).toBe(200);
    expect(answer.data.preKeyLowThreshold).toBe(5);
    const devices = Object.fromEntries(answer.data.devices.map((device: any) => [device.deviceId, device]));
    expect(devices.phone).toMatchObject({ deviceName: 'Phone', status: 'active', oneTimePreKeysRemaining: 3, signedPreKeyId: 'spk_r2' });
    expect(devices.phone.rotations.map((rotation: any) => rotation.signedPreKeyId)).toEqual(['spk_r1', body.signedPreKey.keyId]);
    expect(devices.phone.rotationCount).toBe(2);
    expect(devices.laptop).toMatchObject({ status: 'suspended', statusReason: 'lost', oneTimePreKeysRemaining: 7, rotations: [], rotationCount: 0 });
  });

  it('shows the latest 50 rotations of a device and counts them all', async () => {
    const { body, identity } = registration('ops_rotator', 1);
    await t.call('POST', '/v1/keys/register', body);
    for (let i = 1; i <= 52; i++) {
      await t.call('POST', '/v1/keys/rotate', { userId: 'ops_rotator', newSignedPreKey: makeSignedPreKey(identity, `spk_n${i}`) });
    }
    const [device] = (await t.call('GET', '/v1/admin/users/ops_rotator/key-sets')).body.data.devices;
    expect(device.rotationCount).toBe(52);
    expect(device.rotations).toHaveLength(50);
    expect(device.rotations[0].signedPreKeyId).toBe('spk_n51'); // replaced by spk_n52, the current one
    expect(device.signedPreKeyId).toBe('spk_n52');
  });

  it('keeps projects apart and answers 404 NOT_FOUND, 400 VALIDATION_ERROR and 403 FORBIDDEN', async () => {
    const other = await insertApiKey(t.store, { projectId: 'p_elsewhere', acl: ['keys.read'] });
    const hidden = await t.call('GET', '/v1/admin/users/ops_user/key-sets', undefined, { token: other.token });
    expect(hidden.status).toBe(404);
    expect(hidden.body.errorCode).toBe('NOT_FOUND');
    const bad = await t.call('GET', '/v1/admin/users/bad%20id/key-sets');
    expect(bad.status).toBe(400);
    expect(bad.body.errorCode).toBe('VALIDATION_ERROR');
    const noRead = await insertApiKey(t.store, { acl: ['audit.read'] });
    expect((await t.call('GET', '/v1/admin/users/ops_user/key-sets', undefined, { token: noRead.token })).body.errorCode).toBe('FORBIDDEN');
  });
});

describe('GET /v1/keys/list?userIdPrefix=', () => {
  it('narrows the list to users whose id starts with the prefix, and refuses a bad one', async () => {
    for (const userId of ['find_me_1', 'find_me_2', 'find_you']) await t.call('POST', '/v1/keys/register', registration(userId, 1).body);
    const { body } = await t.call('GET', '/v1/keys/list?userIdPrefix=find_me&sortBy=userId&sortOrder=asc');
    expect(body.data.map((keySet: any) => keySet.userId)).toEqual(['find_me_1', 'find_me_2']);
    expect(body.pagination.total).toBe(2);
    const bad = await t.call('GET', '/v1/keys/list?userIdPrefix=a%25b');
    expect(bad.status).toBe(400);
    expect(bad.body.errorCode).toBe('VALIDATION_ERROR');
  });
});
