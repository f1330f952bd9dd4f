/**
 * Multi-device /v1 (issue 20): GET /v1/keys/bundles/:userId claims a bundle per device in one
 * transaction, GET /v1/keys/devices/:userId lists devices with a version that grows with every
 * change, and `devices.changed` is stored for the user and their session peers. Runs on sqljs
 * and PGlite (and real PostgreSQL in the postgres project).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey, registration, type TestIdentity } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

const dayMs = 86_400_000;
let now = Date.parse('2026-03-08T10:00:00.000Z');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock: { now: () => new Date(now) }, settings: { drainLimitPerMinute: 0, maxDevicesPerClaim: 5 } });
});
afterAll(() => t.close());

/** Registers the devices of one user, all under one identity (as a real multi-device user would or would not: the server does not care). */
async function registerDevices(userId: string, deviceIds: string[], preKeys = 3) {
  const identities: Record<string, TestIdentity> = {};
  const bodies: Record<string, ReturnType<typeof registration>['body']> = {};
  for (const deviceId of deviceIds) {
    const { identity, body } = registration(userId, preKeys, { deviceId, deviceName: `${deviceId} of ${userId}` });
    const res = await t.call('POST', '/v1/keys/register', body);
    expect(res.status, `${userId}/${deviceId}`).toBe(201);
    identities[deviceId] = identity;
    bodies[deviceId] = body;
  }
  return { identities, bodies };
}

const claim = (userId: string, query = '', token?: string) => t.call('GET', `/v1/keys/bundles/${userId}${query}`, undefined, token ? { token } : {});
const devicesOf = (userId: string) => t.call('GET', `/v1/keys/devices/${userId}`);
const versionOf = async (userId: string) => (await devicesOf(userId)).body.data.deviceListVersion as number;
const storedEvents = (userId: string) => t.store.transaction((tx) => tx.events.listAfter('default', [userId], '0', 1000));

describe('GET /v1/keys/bundles/:userId', () => {
  it('serves one bundle per active device, each consuming its own oldest one-time pre-key, with the single-device shape', async () => {
    const { bodies } = await registerDevices('md_alice', ['phone', 'laptop', 'tablet']);
    const res = await claim('md_alice');
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    const { data } = res.body;
    expect(data.userId).toBe('md_alice');
    expect(data.deviceListVersion).toBe(3);
    expect(data.failures).toEqual({});
    expect(data.devices.map((bundle: { deviceId: string }) => bundle.deviceId)).toEqual(['laptop', 'phone', 'tablet']);
    for (const bundle of data.devices) {
      const body = bodies[bundle.deviceId]!;
      expect(bundle).toEqual({
        userId: 'md_alice',
        deviceId: bundle.deviceId,
        identityKey: body.identityKey,
        signedPreKey: body.signedPreKey,
        oneTimePreKey: body.oneTimePreKeys[0],
        pqPreKey: null,
        remainingOneTimePreKeys: 2,
        remainingPqOneTimePreKeys: 0,
      });
    }
    // one audit entry per claim for the keys consumed and one for the bundles, each listing the devices
    const consumed = (await t.call('GET', '/v1/keys/audit?userId=md_alice&action=PREKEY_CONSUMED')).body.data;
    expect(consumed).toHaveLength(1);
    expect(consumed[0].details.keys).toEqual(
      data.devices.map((bundle: { deviceId: string; oneTimePreKey: { keyId: string } }) => ({
        deviceId: bundle.deviceId,
        keyId: bundle.oneTimePreKey.keyId,
        remaining: 2,
      })),
    );
    const fetched = (await t.call('GET', '/v1/keys/audit?userId=md_alice&action=BUNDLE_FETCHED')).body.data;
    expect(fetched.map((entry: { details: unknown }) => entry.details)).toEqual([
      {
        devices: data.devices.map((bundle: { deviceId: string; oneTimePreKey: { keyId: string } }) => ({
          deviceId: bundle.deviceId,
          oneTimePreKeyId: bundle.oneTimePreKey.keyId,
        })),
      },
    ]);
    // the single-device route goes on with the next key of the device it picks
    const single = await t.call('GET', '/v1/keys/bundle/md_alice?deviceId=phone');
    expect(single.body.data.oneTimePreKey).toEqual(bodies.phone!.oneTimePreKeys[1]);
    expect(single.body.data).not.toHaveProperty('deviceListVersion');
  });

  it('claims only the named devices, in the order given; unknown ones are failures, not errors', async () => {
    const { bodies } = await registerDevices('md_named', ['a', 'b', 'c']);
    const res = await claim('md_named', '?deviceIds=c,ghost,a');
    expect(res.status).toBe(200);
    expect(res.body.data.devices.map((bundle: { deviceId: string }) => bundle.deviceId)).toEqual(['c', 'a']);
    expect(res.body.data.devices[0].oneTimePreKey).toEqual(bodies.c!.oneTimePreKeys[0]);
    expect(res.body.data.failures).toEqual({ ghost: { errorCode: 'NOT_FOUND', error: expect.stringContaining('ghost') } });
    // b was not touched
    const b = await t.call('GET', '/v1/keys/bundle/md_named?deviceId=b');
    expect(b.body.data.oneTimePreKey).toEqual(bodies.b!.oneTimePreKeys[0]);
  });

  it('lists suspended, expired and revoked devices in failures with their status and error code, and serves the rest', async () => {
    await registerDevices('md_status', ['ok', 'held', 'gone']);
    await t.call('POST', '/v1/keys/suspend', { userId: 'md_status', deviceId: 'held' });
    await t.call('POST', '/v1/keys/revoke', { userId: 'md_status', deviceId: 'gone', reason: 'lost' });
    const res = await claim('md_status');
    expect(res.status).toBe(200);
    expect(res.body.data.devices.map((bundle: { deviceId: string }) => bundle.deviceId)).toEqual(['ok']);
    expect(res.body.data.failures).toEqual({
      held: { errorCode: 'KEYS_SUSPENDED', status: 'suspended', error: expect.any(String) },
      gone: { errorCode: 'KEYS_REVOKED', status: 'revoked', error: expect.any(String) },
    });
    // the refused devices are audited, as one failure entry of the claim naming each
    const audit = await t.call('GET', '/v1/keys/audit?userId=md_status&action=BUNDLE_FETCHED');
    const failed = audit.body.data.filter((entry: { status: string }) => entry.status === 'FAILURE');
    expect(failed.map((entry: { details: unknown }) => entry.details)).toEqual([{ failures: { held: 'KEYS_SUSPENDED', gone: 'KEYS_REVOKED' } }]);

    // every device unusable: still 200, nothing served, each named
    await t.call('POST', '/v1/keys/revoke', { userId: 'md_status', deviceId: 'ok' });
    const none = await claim('md_status');
    expect(none.status).toBe(200);
    expect(none.body.data.devices).toEqual([]);
    expect(Object.keys(none.body.data.failures).sort()).toEqual(['gone', 'held', 'ok']);
  });

  it('names an expired device KEYS_EXPIRED until a rotation revives it', async () => {
    const { identities } = await registerDevices('md_expiry', ['old', 'new']);
    now += 20 * dayMs;
    const rotated = await t.call('POST', '/v1/keys/rotate', { userId: 'md_expiry', deviceId: 'new', newSignedPreKey: makeSignedPreKey(identities.new!) });
    expect(rotated.status).toBe(200);
    now += 11 * dayMs; // `old` is 31 days old, `new` 11
    const res = await claim('md_expiry');
    expect(res.body.data.devices.map((bundle: { deviceId: string }) => bundle.deviceId)).toEqual(['new']);
    expect(res.body.data.failures).toEqual({ old: { errorCode: 'KEYS_EXPIRED', status: 'expired', error: expect.any(String) } });
    await t.call('POST', '/v1/keys/rotate', { userId: 'md_expiry', deviceId: 'old', newSignedPreKey: makeSignedPreKey(identities.old!) });
    expect((await claim('md_expiry')).body.data.devices).toHaveLength(2);
  });

  it('serves the last-resort pre-key with the warning when a device has no one-time pre-key left', async () => {
    const identity = makeIdentity();
    const lastResortPreKey = makeSignedPreKey(identity, 'lr_md');
    const body = {
      userId: 'md_lr',
      deviceId: 'solo',
      identityKey: identity.identityKey,
      signedPreKey: makeSignedPreKey(identity),
      oneTimePreKeys: makePreKeys(1),
      lastResortPreKey,
    };
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    await registerDevices('md_lr', ['other'], 1);
    await claim('md_lr');
    const empty = await claim('md_lr');
    for (const bundle of empty.body.data.devices) {
      expect(bundle.oneTimePreKey).toBeNull();
      expect(bundle.warning).toMatch(/forward secrecy/);
    }
    const solo = empty.body.data.devices.find((bundle: { deviceId: string }) => bundle.deviceId === 'solo');
    expect(solo.lastResortPreKey).toEqual(lastResortPreKey);
    expect(empty.body.data.failures).toEqual({});
  });

  it('refuses malformed or oversized claims with 400 and unknown users with 404', async () => {
    for (const query of ['?deviceIds=', '?deviceIds=a,,b', '?deviceIds=a,a', '?deviceIds=bad%20id', '?deviceIds=1,2,3,4,5,6']) {
      const res = await claim('md_alice', query);
      expect(res.status, query).toBe(400);
      expect(res.body.errorCode, query).toBe('VALIDATION_ERROR');
      expect(res.body.details[0].field, query).toMatch(/^deviceIds/);
    }
    expect((await claim('bad%20user')).body.errorCode).toBe('VALIDATION_ERROR');
    const unknown = await claim('md_nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body.errorCode).toBe('NOT_FOUND');
    // more active devices than one claim may serve: name them instead
    await registerDevices('md_many', ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'], 1);
    const many = await claim('md_many');
    expect(many.status).toBe(400);
    expect(many.body.errorCode).toBe('VALIDATION_ERROR');
    expect(many.body.error).toMatch(/at most 5 devices/);
    // nothing was consumed by the refused claim
    const named = await claim('md_many', '?deviceIds=d1,d2,d3,d4,d5');
    expect(named.body.data.devices.every((bundle: { oneTimePreKey: unknown }) => bundle.oneTimePreKey !== null)).toBe(true);
  });

  it("does not see another project's devices", async () => {
    const other = await insertApiKey(t.store, { projectId: 'md_other_project' });
    const res = await claim('md_alice', '', other.token);
    await expectError(res, 404, 'NOT_FOUND');
    await expectError(await t.call('GET', '/v1/keys/devices/md_alice', undefined, { token: other.token }), 404, 'NOT_FOUND');
  });
});

describe('drain and rate limits count one per pre-key consumed', () => {
  let limited: TestApp;
  const clockAt = { ms: Date.parse('2026-03-08T10:00:00.000Z') };
  beforeAll(async () => {
    limited = await createTestApp({
      clock: { now: () => new Date(clockAt.ms) },
      settings: { drainLimitPerMinute: 5 },
      http: { rateLimitBundle: 8, rateLimitKeys: 1000 },
    });
    for (const deviceId of ['d1', 'd2', 'd3', 'd4']) {
      expect((await limited.call('POST', '/v1/keys/register', registration('dl_bob', 5, { deviceId }).body)).status).toBe(201);
    }
  });
  afterAll(() => limited.close());

  const consumedBy = (res: { body: { data: { devices: Array<{ oneTimePreKey: unknown }> } } }) =>
    res.body.data.devices.filter((bundle) => bundle.oneTimePreKey !== null).length;

  it('a key drains at most the limit across claims; past it devices are served without a one-time pre-key', async () => {
    const { token } = await insertApiKey(limited.store, { acl: ['bundles.fetch'] });
    const first = await limited.call('GET', '/v1/keys/bundles/dl_bob', undefined, { token });
    expect(consumedBy(first)).toBe(4);
    const second = await limited.call('GET', '/v1/keys/bundles/dl_bob', undefined, { token });
    expect(consumedBy(second)).toBe(1);
    expect(second.body.data.devices.slice(1).every((bundle: { warning?: string }) => /forward secrecy/.test(bundle.warning ?? ''))).toBe(true);
    // the unused reservation was given back: the budget is spent, exactly
    const single = await limited.call('GET', '/v1/keys/bundle/dl_bob?deviceId=d4', undefined, { token });
    expect(single.body.data.oneTimePreKey).toBeNull();
    // another key, and the next minute, have their own budget
    const { token: other } = await insertApiKey(limited.store, { acl: ['bundles.fetch'] });
    expect(consumedBy(await limited.call('GET', '/v1/keys/bundles/dl_bob?deviceIds=d1,d2', undefined, { token: other }))).toBe(2);
    clockAt.ms += 60_000;
    expect(consumedBy(await limited.call('GET', '/v1/keys/bundles/dl_bob?deviceIds=d3', undefined, { token }))).toBe(1);
  });

  it('the bundle rate limit counts every pre-key a claim consumed; the master key is exempt', async () => {
    clockAt.ms += 60_000;
    for (const deviceId of ['d1', 'd2', 'd3', 'd4']) {
      expect((await limited.call('POST', '/v1/keys/register', registration('dl_cat', 5, { deviceId }).body)).status).toBe(201);
    }
    const { token } = await insertApiKey(limited.store, { acl: ['bundles.fetch'] });
    const first = await limited.call('GET', '/v1/keys/bundles/dl_bob', undefined, { token });
    expect(first.status).toBe(200);
    expect(consumedBy(first)).toBe(4);
    expect(first.headers.get('RateLimit-Remaining')).toBe('4'); // 8 - 4 pre-keys
    const second = await limited.call('GET', '/v1/keys/bundles/dl_cat?deviceIds=d1', undefined, { token });
    expect(second.status).toBe(200);
    expect(second.headers.get('RateLimit-Remaining')).toBe('3');
    // 5 of 8 used: one more 4-key claim goes through (and spends past the limit), then 429
    const third = await limited.call('GET', '/v1/keys/bundles/dl_cat', undefined, { token });
    expect(consumedBy(third)).toBe(4);
    expect(third.headers.get('RateLimit-Remaining')).toBe('0');
    const refused = await limited.call('GET', '/v1/keys/bundles/dl_cat', undefined, { token });
    expect(refused.status).toBe(429);
    expect(refused.body.errorCode).toBe('RATE_LIMITED');
    expect((await limited.call('GET', '/v1/keys/bundle/dl_cat?deviceId=d2', undefined, { token })).status).toBe(429);
    expect((await limited.call('GET', '/v1/keys/bundles/dl_cat')).status).toBe(200);
  });
});

describe('GET /v1/keys/devices/:userId and deviceListVersion', () => {
  it('lists every device with status, timestamps, pre-keys remaining and fingerprint', async () => {
    await registerDevices('dv_carol', ['phone', 'laptop'], 4);
    await t.call('POST', '/v1/keys/revoke', { userId: 'dv_carol', deviceId: 'laptop', reason: 'sold' });
    await t.call('GET', '/v1/keys/bundle/dv_carol?deviceId=phone');
    const res = await devicesOf('dv_carol');
    expect(res.status).toBe(200);
    const phone = (await t.call('GET', '/v1/keys/verify/dv_carol?deviceId=phone')).body.data;
    expect(res.body.data).toEqual({
      userId: 'dv_carol',
      deviceListVersion: 3,
      devices: [
        {
          deviceId: 'laptop',
          status: 'revoked',
          deviceName: 'laptop of dv_carol',
          identityKeyFingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
          registeredAt: new Date(now).toISOString(),
          lastRotatedAt: null,
          signedPreKeyExpiresAt: null,
          revokedAt: new Date(now).toISOString(),
          oneTimePreKeysRemaining: 0,
          pqOneTimePreKeysRemaining: 0,
        },
        {
          deviceId: 'phone',
          status: 'active',
          deviceName: 'phone of dv_carol',
          identityKeyFingerprint: phone.identityKeyFingerprint,
          registeredAt: new Date(now).toISOString(),
          lastRotatedAt: null,
          signedPreKeyExpiresAt: new Date(now + 30 * dayMs).toISOString(),
          revokedAt: null,
          oneTimePreKeysRemaining: 3,
          pqOneTimePreKeysRemaining: 0,
        },
      ],
    });
    expect((await devicesOf('dv_nobody')).body.errorCode).toBe('NOT_FOUND');
    expect((await devicesOf('bad%20user')).status).toBe(400);
  });

  it('grows by one with each register, suspend, unsuspend, revoke, first-seen expiry and revival; nothing else moves it', async () => {
    const { identities } = await registerDevices('dv_dan', ['phone']);
    expect(await versionOf('dv_dan')).toBe(1);
    await registerDevices('dv_dan', ['laptop']);
    expect(await versionOf('dv_dan')).toBe(2);
    // reads, fetches, claims, replenishing and rotating a live device are not changes of the list
    await claim('dv_dan');
    await t.call('GET', '/v1/keys/bundle/dv_dan?deviceId=phone');
    await t.call('POST', '/v1/keys/rotate', {
      userId: 'dv_dan',
      deviceId: 'phone',
      newSignedPreKey: makeSignedPreKey(identities.phone!),
      newOneTimePreKeys: makePreKeys(2),
    });
    expect(await versionOf('dv_dan')).toBe(2);
    await t.call('POST', '/v1/keys/suspend', { userId: 'dv_dan', deviceId: 'laptop' });
    expect(await versionOf('dv_dan')).toBe(3);
    await t.call('POST', '/v1/keys/suspend', { userId: 'dv_dan', deviceId: 'laptop' }); // already suspended: no change
    expect(await versionOf('dv_dan')).toBe(3);
    await t.call('POST', '/v1/keys/unsuspend', { userId: 'dv_dan', deviceId: 'laptop' });
    expect(await versionOf('dv_dan')).toBe(4);
    // expiry is counted once, when first seen
    now += 31 * dayMs;
    expect(await versionOf('dv_dan')).toBe(5);
    expect(await versionOf('dv_dan')).toBe(5);
    const listed = (await devicesOf('dv_dan')).body.data.devices;
    expect(listed.map((device: { status: string }) => device.status)).toEqual(['expired', 'expired']);
    await t.call('POST', '/v1/keys/rotate', { userId: 'dv_dan', deviceId: 'phone', newSignedPreKey: makeSignedPreKey(identities.phone!) });
    expect(await versionOf('dv_dan')).toBe(6);
    await t.call('POST', '/v1/keys/revoke', { userId: 'dv_dan' }); // every device: one change
    expect(await versionOf('dv_dan')).toBe(7);
    // re-registering a revoked device id adds it again
    await registerDevices('dv_dan', ['phone']);
    expect(await versionOf('dv_dan')).toBe(8);
    // the claim reports the same version
    expect((await claim('dv_dan')).body.data.deviceListVersion).toBe(8);
  });

  it('a claim sees a first expiry too, and reports the version that counts it', async () => {
    await registerDevices('dv_eve', ['one']);
    now += 31 * dayMs;
    const res = await claim('dv_eve');
    expect(res.body.data.deviceListVersion).toBe(2);
    expect(await versionOf('dv_eve')).toBe(2);
  });
});

describe('devices.changed', () => {
  it('is stored for the user on each change, with version, added, removed and changed', async () => {
    await registerDevices('ev_fay', ['phone']);
    await registerDevices('ev_fay', ['laptop', 'tablet']);
    await t.call('POST', '/v1/keys/suspend', { userId: 'ev_fay', deviceId: 'laptop' });
    await t.call('POST', '/v1/keys/revoke', { userId: 'ev_fay', deviceId: 'phone' });
    const changes = (await storedEvents('ev_fay')).filter((event) => event.event === 'devices.changed').map((event) => event.data);
    expect(changes).toEqual([
      { userId: 'ev_fay', deviceListVersion: 1, added: ['phone'], removed: [], changed: [] },
      { userId: 'ev_fay', deviceListVersion: 2, added: ['laptop'], removed: [], changed: [] },
      { userId: 'ev_fay', deviceListVersion: 3, added: ['tablet'], removed: [], changed: [] },
      { userId: 'ev_fay', deviceListVersion: 4, added: [], removed: [], changed: ['laptop'] },
      { userId: 'ev_fay', deviceListVersion: 5, added: [], removed: ['phone'], changed: [] },
    ]);
    // the live device's expiry, once seen (the suspended one stays suspended: not a change)
    now += 31 * dayMs;
    await devicesOf('ev_fay');
    await devicesOf('ev_fay');
    const after = (await storedEvents('ev_fay')).filter((event) => event.event === 'devices.changed').slice(5);
    expect(after.map((event) => event.data)).toEqual([{ userId: 'ev_fay', deviceListVersion: 6, added: [], removed: [], changed: ['tablet'] }]);
  });

  it("reaches users holding a session with the user, under the peer's own user id", async () => {
    await registerDevices('ev_gus', ['phone']);
    await registerDevices('ev_hal', ['phone']);
    const ephemeral = registration('x', 1).body.oneTimePreKeys[0]!.publicKey;
    const session = await t.call('POST', '/v1/keys/shared-secret', { initiatorUserId: 'ev_hal', responderUserId: 'ev_gus', initiatorEphemeralKey: ephemeral });
    expect(session.status).toBe(200);
    await registerDevices('ev_gus', ['tablet']);
    const toPeer = (await storedEvents('ev_hal')).filter((event) => event.event === 'devices.changed' && event.data.userId === 'ev_gus');
    expect(toPeer.map((event) => event.data)).toEqual([{ userId: 'ev_gus', deviceListVersion: 2, added: ['tablet'], removed: [], changed: [] }]);
  });

  it('names the device in every device-scoped event', async () => {
    const { identities } = await registerDevices('ev_ivy', ['watch'], 2);
    const ephemeral = registration('x', 1).body.oneTimePreKeys[0]!.publicKey;
    await registerDevices('ev_jo', ['phone']);
    await t.call('POST', '/v1/keys/shared-secret', { initiatorUserId: 'ev_jo', responderUserId: 'ev_ivy', initiatorEphemeralKey: ephemeral });
    await claim('ev_ivy'); // the last pre-key: prekeys.exhausted
    await t.call('POST', '/v1/keys/rotate', {
      userId: 'ev_ivy',
      deviceId: 'watch',
      newSignedPreKey: makeSignedPreKey(identities.watch!),
      newOneTimePreKeys: makePreKeys(1),
    });
    await t.call('POST', '/v1/keys/revoke', { userId: 'ev_ivy', deviceId: 'watch' });
    const events = await storedEvents('ev_ivy');
    const names = new Set(events.map((event) => event.event));
    for (const name of ['keys.registered', 'session.initiated', 'prekeys.low', 'prekeys.exhausted', 'keys.rotated', 'prekeys.replenished', 'keys.revoked']) {
      expect(names, name).toContain(name);
    }
    for (const event of events.filter((each) => each.event !== 'devices.changed')) expect(event.data.deviceId, event.event).toBe('watch');
    const peerEvent = (await storedEvents('ev_jo')).find((event) => event.event === 'peer.keys.revoked');
    expect(peerEvent?.data).toMatchObject({ peerUserId: 'ev_ivy', peerDeviceIds: ['watch'] });
  });
});

describe('the OpenAPI document', () => {
  it('describes both routes with their action, parameters and examples', async () => {
    const { paths } = (await t.call('GET', '/openapi.json')).body;
    const claimOperation = paths['/v1/keys/bundles/{userId}'].get;
    expect(claimOperation['x-prekeyd-action']).toBe('bundles.fetch');
    expect(claimOperation.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['userId', 'deviceIds']);
    expect(claimOperation.responses['200'].content['application/json'].schema.example.data.failures.tablet.errorCode).toBe('KEYS_SUSPENDED');
    const listOperation = paths['/v1/keys/devices/{userId}'].get;
    expect(listOperation['x-prekeyd-action']).toBe('keys.read');
    expect(listOperation.responses['200'].content['application/json'].schema.example.data.deviceListVersion).toBe(7);
  });
});
