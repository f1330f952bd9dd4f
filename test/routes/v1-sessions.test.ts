import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

/** A clock the tests move by hand. */
function fakeClock(start: string) {
  let now = Date.parse(start);
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const dayMs = 24 * 3600 * 1000;
const ephemeralKey = () => bytesToHex(x25519.keygen().publicKey);
const clock = fakeClock('2026-03-08T10:00:00.000Z');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(() => t.close());

async function register(userId: string, preKeys = 3, extra: Record<string, unknown> = {}) {
  const reg = registration(userId, preKeys, extra);
  const res = await t.call('POST', '/v1/keys/register', reg.body);
  expect(res.status).toBe(201);
  return reg;
}

const initiate = (body: Record<string, unknown>, token?: string) => t.call('POST', '/v1/keys/shared-secret', body, { token });
const remaining = async (userId: string) => (await t.call('GET', `/v1/keys/verify/${userId}`)).body.data.oneTimePreKeysRemaining;
const audit = async (userId: string, action: string) => (await t.call('GET', `/v1/keys/audit?userId=${userId}&action=${action}`)).body.data;

describe('POST /v1/keys/shared-secret', () => {
  it("returns the seed shape, consumes exactly one of the responder's pre-keys and records the session", async () => {
    const alice = await register('ss_alice');
    const bob = await register('ss_bob', 3);
    const ephemeral = ephemeralKey();
    const res = await initiate({ initiatorUserId: 'ss_alice', responderUserId: 'ss_bob', initiatorEphemeralKey: ephemeral });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: {
        sessionId: expect.stringMatching(/^sess_[0-9a-f]{32}$/),
        responderBundle: {
          identityKey: bob.body.identityKey,
          signedPreKey: bob.body.signedPreKey,
          oneTimePreKey: bob.body.oneTimePreKeys[0],
        },
        expiresAt: new Date(clock.now().getTime() + dayMs).toISOString(),
      },
    });
    expect(await remaining('ss_bob')).toBe(2);
    expect(await remaining('ss_alice')).toBe(3);

    const { sessionId } = res.body.data;
    const [initiated] = await audit('ss_alice', 'SHARED_SECRET_INITIATED');
    expect(initiated).toMatchObject({
      status: 'SUCCESS',
      details: { sessionId, responderUserId: 'ss_bob', oneTimePreKeyId: bob.body.oneTimePreKeys[0]!.keyId },
    });
    const consumed = await audit('ss_bob', 'PREKEY_CONSUMED');
    expect(consumed).toHaveLength(1);
    expect(consumed[0].details.keyId).toBe(bob.body.oneTimePreKeys[0]!.keyId);

    const events = await t.store.transaction((tx) => tx.events.listAfter('default', ['ss_bob'], '0', 100));
    expect(events.find((event) => event.event === 'session.initiated')?.data).toEqual({ sessionId, initiatorUserId: 'ss_alice', deviceId: 'default' });

    // the responder reads what it needs to derive the same secret
    const read = await t.call('GET', `/v1/keys/shared-secret/${sessionId}`);
    expect(read.body).toEqual({
      success: true,
      data: {
        sessionId,
        initiatorUserId: 'ss_alice',
        responderUserId: 'ss_bob',
        initiatorIdentityKey: alice.body.identityKey,
        initiatorEphemeralKey: ephemeral,
        signedPreKeyId: bob.body.signedPreKey.keyId,
        oneTimePreKeyId: bob.body.oneTimePreKeys[0]!.keyId,
        lastResortPreKeyId: null,
        pqPreKeyId: null,
        pqPreKeyLastResort: false,
        kemCiphertext: null,
        status: 'pending',
        createdAt: clock.now().toISOString(),
        expiresAt: res.body.data.expiresAt,
      },
    });
  });

  it('hands successive sessions different pre-keys, then none with the warning and the last-resort key', async () => {
    await register('ss_init2');
    const lastResortReg = registration('ss_lr', 2);
    const lastResortPreKey = makeSignedPreKey(lastResortReg.identity);
    await t.call('POST', '/v1/keys/register', { ...lastResortReg.body, lastResortPreKey });
    const body = { initiatorUserId: 'ss_init2', responderUserId: 'ss_lr', initiatorEphemeralKey: ephemeralKey() };
    const first = await initiate(body);
    const second = await initiate(body);
    expect(first.body.data.responderBundle.oneTimePreKey.keyId).not.toBe(second.body.data.responderBundle.oneTimePreKey.keyId);
    for (const withOneTime of [first, second]) {
      expect(withOneTime.body.data.responderBundle.lastResortPreKey).toBeUndefined();
      const read = (await t.call('GET', `/v1/keys/shared-secret/${withOneTime.body.data.sessionId}`)).body.data;
      expect(read).toMatchObject({ oneTimePreKeyId: withOneTime.body.data.responderBundle.oneTimePreKey.keyId, lastResortPreKeyId: null });
    }
    const third = await initiate(body);
    expect(third.status).toBe(200);
    expect(third.body.data.responderBundle).toMatchObject({ oneTimePreKey: null, lastResortPreKey, warning: expect.stringMatching(/forward secrecy/) });
    const session = await t.call('GET', `/v1/keys/shared-secret/${third.body.data.sessionId}`);
    expect(session.body.data).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: lastResortPreKey.keyId });
    const completed = await t.call('POST', `/v1/keys/shared-secret/${third.body.data.sessionId}/complete`);
    expect(completed.body.data).toMatchObject({ status: 'completed', lastResortPreKeyId: lastResortPreKey.keyId });
    const initiated = (await audit('ss_init2', 'SHARED_SECRET_INITIATED')).find((entry: any) => entry.details.sessionId === third.body.data.sessionId);
    expect(initiated.details).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: lastResortPreKey.keyId });

    // Never consumed: the next session is served the same last-resort key, and records it again.
    const fourth = await initiate(body);
    expect(fourth.body.data.responderBundle.lastResortPreKey).toEqual(lastResortPreKey);
    expect((await t.call('GET', `/v1/keys/shared-secret/${fourth.body.data.sessionId}`)).body.data.lastResortPreKeyId).toBe(lastResortPreKey.keyId);
  });

  it('records no last-resort key when the responder has none left and none registered', async () => {
    await register('ss_nolr_alice');
    await register('ss_nolr_bob', 1);
    const body = { initiatorUserId: 'ss_nolr_alice', responderUserId: 'ss_nolr_bob', initiatorEphemeralKey: ephemeralKey() };
    await initiate(body);
    const exhausted = await initiate(body);
    expect(exhausted.body.data.responderBundle).toMatchObject({ oneTimePreKey: null, warning: expect.any(String) });
    expect(exhausted.body.data.responderBundle.lastResortPreKey).toBeUndefined();
    const read = (await t.call('GET', `/v1/keys/shared-secret/${exhausted.body.data.sessionId}`)).body.data;
    expect(read).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: null });
  });

  it('a rotation that replaces the last-resort key makes later sessions record the new one', async () => {
    await register('ss_rlr_alice');
    const reg = registration('ss_rlr_bob', 1);
    const oldKey = makeSignedPreKey(reg.identity);
    await t.call('POST', '/v1/keys/register', { ...reg.body, lastResortPreKey: oldKey });
    const body = { initiatorUserId: 'ss_rlr_alice', responderUserId: 'ss_rlr_bob', initiatorEphemeralKey: ephemeralKey() };
    await initiate(body);
    const before = await initiate(body);
    const newKey = makeSignedPreKey(reg.identity, 'lrk_rotated');
    expect((await t.call('POST', '/v1/keys/rotate', { userId: 'ss_rlr_bob', newLastResortPreKey: newKey })).status).toBe(200);
    const after = await initiate(body);
    expect(after.body.data.responderBundle.lastResortPreKey).toEqual(newKey);
    expect((await t.call('GET', `/v1/keys/shared-secret/${before.body.data.sessionId}`)).body.data.lastResortPreKeyId).toBe(oldKey.keyId);
    expect((await t.call('GET', `/v1/keys/shared-secret/${after.body.data.sessionId}`)).body.data.lastResortPreKeyId).toBe('lrk_rotated');
  });

  it('accepts the initiator identity key when it is the registered one, and refuses another with 400', async () => {
    const alice = await register('ss_idk_alice');
    await register('ss_idk_bob');
    const body = { initiatorUserId: 'ss_idk_alice', responderUserId: 'ss_idk_bob', initiatorEphemeralKey: ephemeralKey() };
    expect((await initiate({ ...body, initiatorIdentityKey: alice.body.identityKey.toUpperCase() })).status).toBe(200);
    const other = registration('x', 1).body.identityKey;
    const res = await initiate({ ...body, initiatorIdentityKey: other });
    await expectError(res, 400, 'VALIDATION_ERROR');
    expect(res.body.details[0].field).toBe('initiatorIdentityKey');
    expect(await remaining('ss_idk_bob')).toBe(2);
  });

  it('addresses a responder device', async () => {
    await register('ss_dev_alice');
    await register('ss_dev_bob', 2, { deviceId: 'phone' });
    const tablet = await register('ss_dev_bob', 2, { deviceId: 'tablet' });
    const res = await initiate({
      initiatorUserId: 'ss_dev_alice',
      responderUserId: 'ss_dev_bob',
      responderDeviceId: 'tablet',
      initiatorEphemeralKey: ephemeralKey(),
    });
    expect(res.body.data.responderBundle.identityKey).toBe(tablet.body.identityKey);
    const missing = await initiate({
      initiatorUserId: 'ss_dev_alice',
      responderUserId: 'ss_dev_bob',
      responderDeviceId: 'watch',
      initiatorEphemeralKey: ephemeralKey(),
    });
    await expectError(missing, 404, 'NOT_FOUND');
  });

  it('answers 404 for an unknown responder or initiator, 410 for a revoked responder, 403 for a suspended one', async () => {
    await register('ss_err_alice');
    const body = (responderUserId: string) => ({ initiatorUserId: 'ss_err_alice', responderUserId, initiatorEphemeralKey: ephemeralKey() });
    const unknown = await initiate(body('ss_nobody'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.errorCode).toBe('NOT_FOUND');
    expect((await initiate({ ...body('ss_err_alice'), initiatorUserId: 'ss_ghost' })).status).toBe(404);

    await register('ss_revoked');
    await t.call('POST', '/v1/keys/revoke', { userId: 'ss_revoked' });
    const revoked = await initiate(body('ss_revoked'));
    expect(revoked.status).toBe(410);
    expect(revoked.body.errorCode).toBe('KEYS_REVOKED');

    await register('ss_suspended');
    await t.call('POST', '/v1/keys/suspend', { userId: 'ss_suspended' });
    const suspended = await initiate(body('ss_suspended'));
    expect(suspended.status).toBe(403);
    expect(suspended.body.errorCode).toBe('KEYS_SUSPENDED');
    expect(await remaining('ss_suspended')).toBe(3);

    const failures = (await audit('ss_err_alice', 'SHARED_SECRET_INITIATED')).filter((entry: any) => entry.status === 'FAILURE');
    expect(failures.map((entry: any) => entry.details.errorCode).sort()).toEqual(['KEYS_REVOKED', 'KEYS_SUSPENDED', 'NOT_FOUND']);
  });

  it('answers 409 when the initiator has no active key set', async () => {
    await register('ss_c_bob');
    await register('ss_c_alice');
    await t.call('POST', '/v1/keys/revoke', { userId: 'ss_c_alice' });
    const res = await initiate({ initiatorUserId: 'ss_c_alice', responderUserId: 'ss_c_bob', initiatorEphemeralKey: ephemeralKey() });
    expect(res.status).toBe(409);
    expect(res.body.errorCode).toBe('CONFLICT');
    expect(await remaining('ss_c_bob')).toBe(3);
  });

  it.each([
    ['a low-order ephemeral key', { initiatorEphemeralKey: '00'.repeat(32) }, 'initiatorEphemeralKey'],
    ['a short ephemeral key', { initiatorEphemeralKey: 'ab'.repeat(31) }, 'initiatorEphemeralKey'],
    ['an invalid identity key point', { initiatorIdentityKey: 'ff'.repeat(32) }, 'initiatorIdentityKey'],
    ['a missing responder', { responderUserId: undefined }, 'responderUserId'],
    ['an unknown field', { sharedSecret: 'ab' }, '(body)'],
  ])('rejects %s with VALIDATION_ERROR', async (_name, change, field) => {
    const body = { initiatorUserId: 'ss_alice', responderUserId: 'ss_bob', initiatorEphemeralKey: ephemeralKey(), ...change };
    const res = await initiate(body);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    expect(res.body.details.map((detail: any) => detail.field)).toContain(field);
  });

  it("answers 410 KEYS_EXPIRED for a responder whose signed pre-key is too old (the initiator's own age does not matter)", async () => {
    const ownClock = fakeClock('2026-03-08T10:00:00.000Z');
    const aging = await createTestApp({ clock: ownClock, settings: { signedPreKeyMaxAgeMs: 1000 } });
    try {
      await aging.call('POST', '/v1/keys/register', registration('ex_alice', 1).body);
      ownClock.advance(2000);
      await aging.call('POST', '/v1/keys/register', registration('ex_bob', 3).body);
      const body = { initiatorUserId: 'ex_alice', responderUserId: 'ex_bob', initiatorEphemeralKey: ephemeralKey() };
      expect((await aging.call('POST', '/v1/keys/shared-secret', body)).status).toBe(200);
      ownClock.advance(2000);
      const expired = await aging.call('POST', '/v1/keys/shared-secret', body);
      expect(expired.status).toBe(410);
      expect(expired.body.errorCode).toBe('KEYS_EXPIRED');
    } finally {
      await aging.close();
    }
  });

  it('honours the drain limit like a bundle fetch', async () => {
    const drained = await createTestApp({ clock, settings: { drainLimitPerMinute: 1 } });
    try {
      await drained.call('POST', '/v1/keys/register', registration('dr_alice', 2).body);
      await drained.call('POST', '/v1/keys/register', registration('dr_bob', 5).body);
      const { token } = await insertApiKey(drained.store, { acl: ['bundles.fetch'], userIds: ['dr_alice'] });
      const body = { initiatorUserId: 'dr_alice', responderUserId: 'dr_bob', initiatorEphemeralKey: ephemeralKey() };
      const first = await drained.call('POST', '/v1/keys/shared-secret', body, { token });
      expect(first.body.data.responderBundle.oneTimePreKey).not.toBeNull();
      const second = await drained.call('POST', '/v1/keys/shared-secret', body, { token });
      expect(second.status).toBe(200);
      expect(second.body.data.responderBundle).toMatchObject({ oneTimePreKey: null, warning: expect.any(String) });
      expect((await drained.call('GET', '/v1/keys/verify/dr_bob')).body.data.oneTimePreKeysRemaining).toBe(4);
      expect((await drained.call('GET', `/v1/keys/shared-secret/${second.body.data.sessionId}`)).body.data.lastResortPreKeyId).toBeNull();

      // A drain-limited answer serves the last-resort key although one-time pre-keys remain: the session records it.
      const reg = registration('dr_lr', 3);
      const lastResortPreKey = makeSignedPreKey(reg.identity);
      await drained.call('POST', '/v1/keys/register', { ...reg.body, lastResortPreKey });
      const lrBody = { ...body, responderUserId: 'dr_lr' };
      const served = await drained.call('POST', '/v1/keys/shared-secret', lrBody, { token });
      const limited = await drained.call('POST', '/v1/keys/shared-secret', lrBody, { token });
      expect(served.body.data.responderBundle.oneTimePreKey).not.toBeNull();
      expect(limited.body.data.responderBundle).toMatchObject({ oneTimePreKey: null, lastResortPreKey });
      const read = async (res: typeof served) => (await drained.call('GET', `/v1/keys/shared-secret/${res.body.data.sessionId}`)).body.data;
      expect(await read(served)).toMatchObject({ oneTimePreKeyId: served.body.data.responderBundle.oneTimePreKey.keyId, lastResortPreKeyId: null });
      expect(await read(limited)).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: lastResortPreKey.keyId });
    } finally {
      await drained.close();
    }
  });
});

describe('reading and completing a session', () => {
  async function newSession(prefix: string) {
    await register(`${prefix}_alice`);
    await register(`${prefix}_bob`);
    const res = await initiate({ initiatorUserId: `${prefix}_alice`, responderUserId: `${prefix}_bob`, initiatorEphemeralKey: ephemeralKey() });
    return res.body.data.sessionId as string;
  }

  it('lets the responder complete it, once, with SHARED_SECRET_COMPLETED audited', async () => {
    const sessionId = await newSession('sc');
    const { token } = await insertApiKey(t.store, { acl: ['bundles.fetch'], userIds: ['sc_bob'] });
    const done = await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`, undefined, { token });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      success: true,
      message: 'Session completed',
      data: { sessionId, status: 'completed', completedAt: clock.now().toISOString(), responderUserId: 'sc_bob' },
    });
    expect((await t.call('GET', `/v1/keys/shared-secret/${sessionId}`, undefined, { token })).body.data.status).toBe('completed');
    const again = await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`, undefined, { token });
    expect(again.body.data.completedAt).toBe(done.body.data.completedAt);
    const completed = await audit('sc_bob', 'SHARED_SECRET_COMPLETED');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ status: 'SUCCESS', details: { sessionId, initiatorUserId: 'sc_alice' } });
  });

  it('refuses keys that may not act as the responder, or lack bundles.fetch', async () => {
    const sessionId = await newSession('sf');
    const { token: initiatorKey } = await insertApiKey(t.store, { acl: ['bundles.fetch'], userIds: ['sf_alice'] });
    const { token: noAction } = await insertApiKey(t.store, { acl: ['keys.read'], userIds: ['sf_bob'] });
    for (const token of [initiatorKey, noAction]) {
      await expectError(await t.call('GET', `/v1/keys/shared-secret/${sessionId}`, undefined, { token }), 403, 'FORBIDDEN');
      await expectError(await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`, undefined, { token }), 403, 'FORBIDDEN');
    }
    expect((await t.call('GET', `/v1/keys/shared-secret/${sessionId}`)).body.data.status).toBe('pending');
  });

  it("answers 404 for an unknown session and for another project's", async () => {
    const sessionId = await newSession('sp');
    expect((await t.call('GET', '/v1/keys/shared-secret/sess_00000000000000000000000000000000')).status).toBe(404);
    const { token } = await insertApiKey(t.store, { projectId: 'other_project' });
    const read = await t.call('GET', `/v1/keys/shared-secret/${sessionId}`, undefined, { token });
    expect(read.status).toBe(404);
    expect(read.body.errorCode).toBe('NOT_FOUND');
    expect((await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`, undefined, { token })).status).toBe(404);
  });

  it('rejects a malformed session id with 400', async () => {
    const res = await t.call('GET', `/v1/keys/shared-secret/${'x'.repeat(65)}`);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
  });

  it('needs a key to initiate, and a key that may act as the initiator', async () => {
    await register('sa_alice');
    await register('sa_bob');
    const body = { initiatorUserId: 'sa_alice', responderUserId: 'sa_bob', initiatorEphemeralKey: ephemeralKey() };
    await expectError(await t.call('POST', '/v1/keys/shared-secret', body, { token: null }), 401, 'UNAUTHORIZED');
    const { token: bobKey } = await insertApiKey(t.store, { acl: ['bundles.fetch'], userIds: ['sa_bob'] });
    await expectError(await initiate(body, bobKey), 403, 'FORBIDDEN');
    const { token: noAction } = await insertApiKey(t.store, { acl: ['backups.read'], userIds: ['sa_alice'] });
    await expectError(await initiate(body, noAction), 403, 'FORBIDDEN');
    expect(await remaining('sa_bob')).toBe(3);
    const { token: aliceKey } = await insertApiKey(t.store, { acl: ['bundles.fetch'], userIds: ['sa_alice'] });
    expect((await initiate(body, aliceKey)).status).toBe(200);
  });

  // Moves the shared clock forward: keep it last in this file.
  it('answers 404 once the session has expired (after 24 h)', async () => {
    const sessionId = await newSession('sx');
    clock.advance(dayMs - 1);
    expect((await t.call('GET', `/v1/keys/shared-secret/${sessionId}`)).status).toBe(200);
    clock.advance(1);
    const read = await t.call('GET', `/v1/keys/shared-secret/${sessionId}`);
    expect(read.status).toBe(404);
    expect(read.body.errorCode).toBe('NOT_FOUND');
    expect((await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`)).status).toBe(404);
  });
});
