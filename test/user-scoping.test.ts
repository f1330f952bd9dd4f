/**
 * `userIds` limits whom a key may act as, not whose public bundle it may fetch (SPEC §2).
 * A device key holds every action but may act only as `user_a`. Subscribing is covered by the
 * push tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBody } from './helpers/backup-body.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { makeSignedPreKey, registration, type TestIdentity } from './helpers/keys.ts';

const project = 'scoping';
let t: TestApp;
let deviceKey: string;
let userB: TestIdentity;

const master = (method: string, path: string, body?: unknown) => t.call(method, path, body, { headers: { 'x-project-id': project } });
const device = (method: string, path: string, body?: unknown) => t.call(method, path, body, { token: deviceKey });

const ephemeralKey = () => registration('ephemeral', 1).body.oneTimePreKeys[0]!.publicKey;

function expectForbidden(res: { status: number; body: { errorCode?: string } }, what: string) {
  expect({ what, status: res.status, errorCode: res.body.errorCode }).toEqual({ what, status: 403, errorCode: 'FORBIDDEN' });
}

beforeAll(async () => {
  t = await createTestApp();
  const created = await t.call('POST', '/v1/api-keys', { projectId: project, acl: ['*'], userIds: ['user_a'], description: 'device of user_a' });
  expect(created.status).toBe(201);
  deviceKey = created.body.data.key;
  const b = registration('user_b', 5);
  userB = b.identity;
  expect((await master('POST', '/v1/keys/register', b.body)).status).toBe(201);
  expect((await master('POST', '/v1/keys/backup', backupBody('user_b', 'secret of b'))).status).toBe(200);
  expect((await device('POST', '/v1/keys/register', registration('user_a', 5).body)).status).toBe(201);
});
afterAll(() => t.close());

describe('a device key limited to user_a', () => {
  it('fetches anyone’s bundle and reads anyone’s key status', async () => {
    const bundle = await device('GET', '/v1/keys/bundle/user_b');
    expect(bundle.status).toBe(200);
    expect(bundle.body.data.identityKey).toBe(userB.identityKey);
    expect((await device('GET', '/v1/keys/verify/user_b')).status).toBe(200);
  });

  it('cannot register for user_b', async () => {
    expectForbidden(await device('POST', '/v1/keys/register', registration('user_b', 1, { deviceId: 'tablet' }).body), 'register');
    const list = await master('GET', '/v1/keys/list?limit=100');
    expect(list.body.data.filter((item: { userId: string }) => item.userId === 'user_b')).toHaveLength(1);
  });

  it('cannot rotate user_b’s keys, but rotates its own', async () => {
    const before = (await master('GET', '/v1/keys/bundle/user_b')).body.data.signedPreKey;
    expectForbidden(await device('POST', '/v1/keys/rotate', { userId: 'user_b', newSignedPreKey: makeSignedPreKey(userB) }), 'rotate');
    expect((await master('GET', '/v1/keys/bundle/user_b')).body.data.signedPreKey).toEqual(before);
    const own = await device('POST', '/v1/keys/rotate', { userId: 'user_a', newOneTimePreKeys: registration('x', 2).body.oneTimePreKeys });
    expect(own.status).toBe(200);
  });

  it('cannot revoke user_b’s keys', async () => {
    expectForbidden(await device('POST', '/v1/keys/revoke', { userId: 'user_b', reason: 'not yours' }), 'revoke');
    expect((await master('GET', '/v1/keys/verify/user_b')).body.data).toMatchObject({ status: 'active', isValid: true });
  });

  it('cannot back up or recover for user_b, but can for itself', async () => {
    expectForbidden(await device('POST', '/v1/keys/backup', backupBody('user_b', 'overwrite')), 'backup');
    expectForbidden(await device('POST', '/v1/keys/recover', { userId: 'user_b' }), 'recover');
    const stillB = await master('POST', '/v1/keys/recover', { userId: 'user_b' });
    expect(stillB.body.data).toMatchObject({ version: 1, encryptedBundle: Buffer.from('secret of b').toString('base64') });
    expect((await device('POST', '/v1/keys/backup', backupBody('user_a', 'mine'))).status).toBe(200);
    expect((await device('POST', '/v1/keys/recover', { userId: 'user_a' })).status).toBe(200);
  });

  it('cannot start a session as user_b, nor read or complete one addressed to user_b', async () => {
    const asB = await device('POST', '/v1/keys/shared-secret', { initiatorUserId: 'user_b', responderUserId: 'user_a', initiatorEphemeralKey: ephemeralKey() });
    expectForbidden(asB, 'initiate as user_b');
    const toB = await device('POST', '/v1/keys/shared-secret', { initiatorUserId: 'user_a', responderUserId: 'user_b', initiatorEphemeralKey: ephemeralKey() });
    expect(toB.status).toBe(200);
    const sessionId = toB.body.data.sessionId;
    expectForbidden(await device('GET', `/v1/keys/shared-secret/${sessionId}`), 'read session of user_b');
    expectForbidden(await device('POST', `/v1/keys/shared-secret/${sessionId}/complete`), 'complete session of user_b');
    expect((await master('GET', `/v1/keys/shared-secret/${sessionId}`)).body.data.status).toBe('pending');
  });
});

describe('userIds patterns', () => {
  it('`team_*` lets a key act as team members only', async () => {
    const created = await t.call('POST', '/v1/api-keys', { projectId: project, acl: ['keys.register'], userIds: ['team_*'] });
    const token = created.body.data.key;
    expect((await t.call('POST', '/v1/keys/register', registration('team_1', 1).body, { token })).status).toBe(201);
    expectForbidden(await t.call('POST', '/v1/keys/register', registration('teammate', 1).body, { token }), 'register teammate');
    expectForbidden(await t.call('POST', '/v1/keys/register', registration('user_team_1', 1).body, { token }), 'register user_team_1');
  });
});
