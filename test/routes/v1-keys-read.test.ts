import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey, registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
let now = Date.parse('2026-03-08T10:00:00.000Z');
beforeAll(async () => {
  t = await createTestApp({ clock: { now: () => new Date(now) }, settings: { drainLimitPerMinute: 0 } });
});
afterAll(() => t.close());

describe('GET /v1/keys/bundle/:userId', () => {
  it('hands out the oldest one-time pre-key first, with the seed shape', async () => {
    const { body } = registration('bundle_user', 2);
    await t.call('POST', '/v1/keys/register', body);
    const first = await t.call('GET', '/v1/keys/bundle/bundle_user');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      success: true,
      data: {
        userId: 'bundle_user',
        deviceId: 'default',
        identityKey: body.identityKey,
        signedPreKey: body.signedPreKey,
        oneTimePreKey: body.oneTimePreKeys[0],
        pqPreKey: null,
        remainingOneTimePreKeys: 1,
        remainingPqOneTimePreKeys: 0,
      },
    });
    const second = await t.call('GET', '/v1/keys/bundle/bundle_user');
    expect(second.body.data.oneTimePreKey).toEqual(body.oneTimePreKeys[1]);
    expect(second.body.data.remainingOneTimePreKeys).toBe(0);
  });

  it('with none left: oneTimePreKey null, a warning, and the last-resort pre-key when there is one', async () => {
    const identity = makeIdentity();
    const lastResortPreKey = makeSignedPreKey(identity, 'lr_1');
    const { body } = registration('bundle_lr', 1);
    const payload = { ...body, identityKey: identity.identityKey, signedPreKey: makeSignedPreKey(identity), lastResortPreKey };
    expect((await t.call('POST', '/v1/keys/register', payload)).status).toBe(201);
    await t.call('GET', '/v1/keys/bundle/bundle_lr');
    const empty = await t.call('GET', '/v1/keys/bundle/bundle_lr');
    expect(empty.body.data.oneTimePreKey).toBeNull();
    expect(empty.body.data.warning).toMatch(/forward secrecy/);
    expect(empty.body.data.lastResortPreKey).toEqual(lastResortPreKey);
    // never consumed
    expect((await t.call('GET', '/v1/keys/bundle/bundle_lr')).body.data.lastResortPreKey).toEqual(lastResortPreKey);

    await t.call('POST', '/v1/keys/register', registration('bundle_nolr', 1).body);
    await t.call('GET', '/v1/keys/bundle/bundle_nolr');
    const noLastResort = await t.call('GET', '/v1/keys/bundle/bundle_nolr');
    expect(noLastResort.body.data.oneTimePreKey).toBeNull();
    expect(noLastResort.body.data).not.toHaveProperty('lastResortPreKey');
  });

  it('answers 404 for an unknown user and 400 for a malformed user id', async () => {
    const unknown = await t.call('GET', '/v1/keys/bundle/nobody_here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ success: false, errorCode: 'NOT_FOUND' });
    expect((await t.call('GET', '/v1/keys/bundle/bad%20user')).status).toBe(400);
  });

  it('marks a key set expired once its signed pre-key is older than the maximum age; rotation revives it', async () => {
    const { body, identity } = registration('bundle_expiry', 3);
    await t.call('POST', '/v1/keys/register', body);
    now += 31 * 24 * 3600 * 1000;
    const expired = await t.call('GET', '/v1/keys/bundle/bundle_expiry');
    expect(expired.status).toBe(410);
    expect(expired.body.errorCode).toBe('KEYS_EXPIRED');
    expect((await t.call('GET', '/v1/keys/verify/bundle_expiry')).body.data).toMatchObject({ status: 'expired', isValid: false });
    await t.call('POST', '/v1/keys/rotate', { userId: 'bundle_expiry', newSignedPreKey: makeSignedPreKey(identity) });
    expect((await t.call('GET', '/v1/keys/bundle/bundle_expiry')).status).toBe(200);
  });

  it('picks the named device, else the newest live one', async () => {
    const phone = registration('bundle_devices', 1, { deviceId: 'phone' }).body;
    const laptop = registration('bundle_devices', 1, { deviceId: 'laptop' }).body;
    await t.call('POST', '/v1/keys/register', phone);
    await t.call('POST', '/v1/keys/register', laptop);
    expect((await t.call('GET', '/v1/keys/bundle/bundle_devices?deviceId=phone')).body.data.identityKey).toBe(phone.identityKey);
    expect((await t.call('GET', '/v1/keys/bundle/bundle_devices')).body.data.identityKey).toBe(laptop.identityKey);
    await expectError(await t.call('GET', '/v1/keys/bundle/bundle_devices?deviceId=watch'), 404, 'NOT_FOUND');
  });
});

describe('200 concurrent bundle fetches against 100 one-time pre-keys', () => {
  it('hands out exactly 100 distinct keys; the other 100 answers carry oneTimePreKey null', async () => {
    const { body } = registration('bundle_race', 100);
    await t.call('POST', '/v1/keys/register', body);
    const answers = await Promise.all(Array.from({ length: 200 }, () => t.call('GET', '/v1/keys/bundle/bundle_race')));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const keys = answers.map((answer) => answer.body.data.oneTimePreKey?.keyId).filter(Boolean);
    expect(keys).toHaveLength(100);
    expect(new Set(keys).size).toBe(100);
    expect(new Set(keys)).toEqual(new Set(body.oneTimePreKeys.map((key: { keyId: string }) => key.keyId)));
    expect(answers.filter((answer) => answer.body.data.oneTimePreKey === null)).toHaveLength(100);
  });
});

describe('GET /v1/keys/verify/:userId', () => {
  it('reports key health with the seed shape', async () => {
    const { body } = registration('verify_user', 15, { deviceName: 'iPhone 15' });
    const registered = await t.call('POST', '/v1/keys/register', body);
    const res = await t.call('GET', '/v1/keys/verify/verify_user');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: {
        userId: 'verify_user',
        deviceId: 'default',
        isValid: true,
        status: 'active',
        identityKeyFingerprint: registered.body.data.identityKeyFingerprint,
        registeredAt: registered.body.data.registeredAt,
        lastRotatedAt: null,
        oneTimePreKeysRemaining: 15,
        pqOneTimePreKeysRemaining: 0,
        pqLastResortPreKeyAvailable: false,
        deviceName: 'iPhone 15',
      },
    });
    await expectError(await t.call('GET', '/v1/keys/verify/verify_nobody'), 404, 'NOT_FOUND');
  });
});

describe('GET /v1/keys/list', () => {
  let list: TestApp;
  beforeAll(async () => {
    let tick = Date.parse('2026-01-01T00:00:00.000Z');
    list = await createTestApp({ clock: { now: () => new Date((tick += 1000)) } });
    for (let i = 0; i < 45; i++) {
      await list.call('POST', '/v1/keys/register', registration(`list_${String(i).padStart(2, '0')}`, (i % 7) + 1).body);
    }
    await list.call('POST', '/v1/keys/revoke', { userId: 'list_03' });
    await list.call('POST', '/v1/keys/suspend', { userId: 'list_04' });
  });
  afterAll(() => list.close());

  it('pages newest first by default (20 a page) with the seed pagination object', async () => {
    const page1 = await list.call('GET', '/v1/keys/list');
    expect(page1.status).toBe(200);
    expect(page1.body.data).toHaveLength(20);
    expect(page1.body.data[0].userId).toBe('list_44');
    expect(page1.body.pagination).toEqual({ page: 1, limit: 20, total: 45, totalPages: 3, hasNextPage: true, hasPrevPage: false });
    const page3 = await list.call('GET', '/v1/keys/list?page=3');
    expect(page3.body.data).toHaveLength(5);
    expect(page3.body.pagination.hasNextPage).toBe(false);
    expect(Object.keys(page1.body.data[0]).sort()).toEqual(
      [
        'userId',
        'deviceId',
        'identityKeyFingerprint',
        'status',
        'oneTimePreKeysRemaining',
        'pqOneTimePreKeysRemaining',
        'pqLastResortPreKeyAvailable',
        'registeredAt',
        'lastRotatedAt',
        'deviceName',
      ].sort(),
    );
  });

  it('filters by status', async () => {
    const revoked = await list.call('GET', '/v1/keys/list?status=revoked');
    expect(revoked.body.data.map((item: { userId: string }) => item.userId)).toEqual(['list_03']);
    const suspended = await list.call('GET', '/v1/keys/list?status=suspended');
    expect(suspended.body.pagination.total).toBe(1);
    const active = await list.call('GET', '/v1/keys/list?status=active&limit=100');
    expect(active.body.pagination.total).toBe(43);
  });

  it('sorts by each allowed field and refuses others', async () => {
    const byUser = await list.call('GET', '/v1/keys/list?sortBy=userId&sortOrder=asc&limit=3');
    expect(byUser.body.data.map((item: { userId: string }) => item.userId)).toEqual(['list_00', 'list_01', 'list_02']);
    const byCount = await list.call('GET', '/v1/keys/list?sortBy=oneTimePreKeysRemaining&sortOrder=desc&limit=100');
    const counts = byCount.body.data.map((item: { oneTimePreKeysRemaining: number }) => item.oneTimePreKeysRemaining);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect((await list.call('GET', '/v1/keys/list?sortBy=lastRotatedAt')).status).toBe(200);
    const bad = await list.call('GET', '/v1/keys/list?sortBy=identityKey');
    await expectError(bad, 400, 'VALIDATION_ERROR');
    expect(bad.body.details[0].field).toBe('sortBy');
    await expectError(await list.call('GET', '/v1/keys/list?limit=101'), 400, 'VALIDATION_ERROR');
    await expectError(await list.call('GET', '/v1/keys/list?page=0'), 400, 'VALIDATION_ERROR');
    await expectError(await list.call('GET', '/v1/keys/list?status=gone'), 400, 'VALIDATION_ERROR');
  });
});

describe('unknown routes and methods', () => {
  it('answer 404 in the envelope', async () => {
    const res = await t.call('GET', '/v1/keys/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, errorCode: 'NOT_FOUND' });
    expect((await t.call('GET', '/nope', undefined, { token: null })).body.errorCode).toBe('NOT_FOUND');
  });

  it('require auth under /v1', async () => {
    const res = await t.call('GET', '/v1/keys/list', undefined, { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, error: 'Missing or invalid API key', errorCode: 'UNAUTHORIZED' });
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: 'wrong' })).status).toBe(401);
  });

  it('reject a malformed X-Project-Id', async () => {
    const res = await t.call('GET', '/v1/keys/list', undefined, { headers: { 'x-project-id': 'no spaces!' } });
    await expectError(res, 400, 'VALIDATION_ERROR');
  });
});

describe('health and the OpenAPI document', () => {
  it('serves /healthz and /readyz without auth', async () => {
    expect(await t.call('GET', '/healthz', undefined, { token: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await t.call('GET', '/readyz', undefined, { token: null })).status).toBe(200);
  });

  it('documents every /v1/keys route from the validating schemas', async () => {
    const doc = (await t.call('GET', '/openapi.json', undefined, { token: null })).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/v1/keys/register', '/v1/keys/bundle/{userId}', '/v1/keys/rotate', '/v1/keys/revoke', '/v1/keys/verify/{userId}', '/v1/keys/list']) {
      expect(doc.paths).toHaveProperty([path]);
    }
    const register = doc.paths['/v1/keys/register'].post;
    expect(register['x-prekeyd-action']).toBe('keys.register');
    expect(Object.keys(register.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409']));
    const ref = register.requestBody.content['application/json'].schema.$ref as string;
    const schema = doc.components.schemas[ref.split('/').pop()!];
    expect(schema.required).toEqual(expect.arrayContaining(['userId', 'identityKey', 'signedPreKey', 'oneTimePreKeys']));
    expect(schema.properties.oneTimePreKeys.maxItems).toBe(100);
  });
});

it('keeps serving after a burst of malformed requests', async () => {
  const junk = ['', '[]', 'null', '{"userId":', '{"userId":{"$gt":""}}', '"string"', '1e309', '{"oneTimePreKeys":"x"}'];
  for (const body of junk) {
    for (const path of ['/v1/keys/register', '/v1/keys/rotate', '/v1/keys/revoke']) {
      const res = await t.call('POST', path, body);
      expect(res.status, `${path} ${body}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${path} ${body}`).toBeLessThan(500);
      expect(res.body.success).toBe(false);
    }
  }
  expect((await t.call('GET', '/healthz')).status).toBe(200);
});

void makePreKeys;
