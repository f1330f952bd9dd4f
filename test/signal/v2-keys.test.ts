/** /v2/keys beyond the happy path: auth, encodings, signatures, identity rules, and what it shares with /v1. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { SignalDevice, toBase64 } from './libsignal-device.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const basic = (user: string, key = masterKey) => ({ token: null, headers: { authorization: `Basic ${btoa(`${user}:${key}`)}` } });
const put = (device: SignalDevice, body: unknown) => t.call('PUT', '/v2/keys', body, basic(`${device.name}.${device.deviceId}`));
const fetchAs = (path: string) => t.call('GET', path, undefined, basic('fetcher.1'));

async function registered(name: string, deviceId = 1, options = {}) {
  const device = new SignalDevice(name, deviceId);
  const body = device.upload(options);
  expect((await put(device, body)).status).toBe(204);
  return { device, body };
}

const bytesWith = (length: number, first: number) => {
  const bytes = new Uint8Array(length).fill(9);
  bytes[0] = first;
  return toBase64(bytes);
};

describe('Basic auth', () => {
  it('reads a bare identifier as device 1 and accepts unpadded base64 credentials', async () => {
    const device = new SignalDevice('bare', 1);
    const header = btoa(`bare:${masterKey}`).replace(/=+$/, '');
    const res = await t.call('PUT', '/v2/keys', device.upload(), { token: null, headers: { authorization: `Basic ${header}` } });
    expect(res.status).toBe(204);
    expect((await fetchAs('/v2/keys/bare/1')).body.devices[0].deviceId).toBe(1);
  });

  it('refuses malformed credentials with 401 in the envelope', async () => {
    for (const authorization of [
      'Basic !!!',
      `Basic ${btoa('no-colon')}`,
      `Basic ${btoa(`x.0:${masterKey}`)}`,
      `Basic ${btoa(`x.128:${masterKey}`)}`,
      `Basic ${btoa('x.1:')}`,
      `Basic ${btoa('x.1:wrong')}`,
    ]) {
      const res = await t.call('GET', '/v2/keys', undefined, { token: null, headers: { authorization } });
      expect({ authorization, status: res.status, errorCode: res.body.errorCode }).toEqual({ authorization, status: 401, errorCode: 'UNAUTHORIZED' });
    }
  });

  it("applies the key's userIds to the identifier for PUT, GET /v2/keys and check, not to bundle fetches", async () => {
    const { token } = await insertApiKey(t.store, { acl: ['keys.register', 'keys.read', 'bundles.fetch'], userIds: ['own*'] });
    const mallory = new SignalDevice('mallory', 1);
    expect((await t.call('PUT', '/v2/keys', mallory.upload(), basic('mallory.1', token))).body.errorCode).toBe('FORBIDDEN');
    expect((await t.call('GET', '/v2/keys', undefined, basic('mallory.1', token))).status).toBe(403);
    expect((await t.call('POST', '/v2/keys/check', { digest: toBase64(new Uint8Array(32)) }, basic('mallory.1', token))).status).toBe(403);
    const own = new SignalDevice('own_user', 3);
    expect((await t.call('PUT', '/v2/keys', own.upload(), basic('own_user.3', token))).status).toBe(204);
    await registered('someone_else');
    expect((await t.call('GET', '/v2/keys/someone_else/1', undefined, basic('own_user.3', token))).status).toBe(200);
  });

  it('needs keys.register to upload and keys.read to count', async () => {
    const { token } = await insertApiKey(t.store, { acl: ['keys.read', 'keys.rotate', 'bundles.fetch'] });
    await expectError(await t.call('PUT', '/v2/keys', new SignalDevice('acl', 1).upload(), basic('acl.1', token)), 403, 'FORBIDDEN');
    const counter = await insertApiKey(t.store, { acl: ['keys.register'] });
    await expectError(await t.call('GET', '/v2/keys', undefined, basic('acl.1', counter.token)), 403, 'FORBIDDEN');
  });

  it('keeps projects apart', async () => {
    await registered('project_user');
    const { token } = await insertApiKey(t.store, { projectId: 'other_project' });
    await expectError(await t.call('GET', '/v2/keys/project_user/1', undefined, basic('x.1', token)), 404, 'NOT_FOUND');
  });
});

describe('Bearer auth', () => {
  it('names the device with ?identifier=&deviceId= (device 1 by default)', async () => {
    const device = new SignalDevice('bearer_user', 2);
    expect((await t.call('PUT', '/v2/keys?identifier=bearer_user&deviceId=2', device.upload({ preKeys: 4 }))).status).toBe(204);
    expect((await t.call('GET', '/v2/keys?identifier=bearer_user&deviceId=2')).body).toEqual({ count: 4, pqCount: 5 });
    expect((await t.call('GET', '/v2/keys?identifier=bearer_user')).body).toEqual({ count: 0, pqCount: 0 });
    expect((await t.call('GET', '/v2/keys/bearer_user/*')).body.devices.map((item: any) => item.deviceId)).toEqual([2]);
  });

  it('is 400 without an identifier, or when the query contradicts Basic auth', async () => {
    const missing = await t.call('GET', '/v2/keys');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ success: false, errorCode: 'VALIDATION_ERROR', details: [{ field: 'identifier' }] });
    expect((await t.call('GET', '/v2/keys?identifier=other', undefined, basic('me.1'))).status).toBe(400);
  });
});

describe('PUT /v2/keys encodings (400, never 500)', () => {
  const device = new SignalDevice('encodings', 1);
  const base = device.upload({ preKeys: 2, pqPreKeys: 2 });
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['malformed base64 identity key', { identityKey: 'not base64!' }, 'identityKey'],
    ['identity key with a wrong type byte', { identityKey: bytesWith(33, 0x06) }, 'identityKey'],
    ['identity key of a wrong length', { identityKey: bytesWith(32, 0x05) }, 'identityKey'],
    ['low-order identity key', { identityKey: toBase64(Uint8Array.of(5, ...new Uint8Array(32))) }, 'identityKey'],
    ['pre-key with a wrong type byte', { preKeys: [{ keyId: 1, publicKey: bytesWith(33, 0x08) }] }, 'preKeys.0.publicKey'],
    ['Kyber key with an EC type byte', { pqPreKeys: [{ ...base.pqPreKeys[0], publicKey: bytesWith(1569, 0x05) }] }, 'pqPreKeys.0.publicKey'],
    ['Kyber key of a wrong length', { pqLastResortPreKey: { ...base.pqLastResortPreKey, publicKey: bytesWith(1568, 0x08) } }, 'pqLastResortPreKey.publicKey'],
    ['short signature', { signedPreKey: { ...base.signedPreKey, signature: toBase64(new Uint8Array(63)) } }, 'signedPreKey.signature'],
    ['negative key id', { preKeys: [{ ...base.preKeys[0], keyId: -1 }] }, 'preKeys.0.keyId'],
    ['key id above 2^31-1', { preKeys: [{ ...base.preKeys[0], keyId: 2 ** 31 }] }, 'preKeys.0.keyId'],
    ['string key id', { preKeys: [{ ...base.preKeys[0], keyId: 'n' }] }, 'preKeys.0.keyId'],
    ['duplicate key ids', { preKeys: [base.preKeys[0], { ...base.preKeys[1], keyId: base.preKeys[0]!.keyId }] }, 'preKeys.1.keyId'],
    ['101 pre-keys', { preKeys: Array.from({ length: 101 }, (_, keyId) => ({ keyId, publicKey: base.preKeys[0]!.publicKey })) }, 'preKeys'],
  ];
  for (const [name, change, field] of cases) {
    it(`refuses a ${name}`, async () => {
      const res = await put(device, { ...base, ...change });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, errorCode: 'VALIDATION_ERROR' });
      expect(res.body.details.map((detail: any) => detail.field)).toContain(field);
    });
  }

  it('accepts unpadded base64 and answers padded base64', async () => {
    const padded = new SignalDevice('unpadded', 1);
    const body = padded.upload({ preKeys: 1 });
    const strip = (text: string) => text.replace(/=+$/, '');
    const res = await put(padded, { ...body, signedPreKey: { ...body.signedPreKey, signature: strip(body.signedPreKey.signature) } });
    expect(res.status).toBe(204);
    expect((await fetchAs('/v2/keys/unpadded/1')).body.devices[0].signedPreKey.signature).toBe(body.signedPreKey.signature);
  });

  it('needs identityKey and signedPreKey on a first upload', async () => {
    const fresh = new SignalDevice('fresh', 1);
    const { identityKey, ...withoutIdentity } = fresh.upload();
    expect((await put(fresh, withoutIdentity)).body.details).toEqual([{ field: 'identityKey', message: expect.any(String) }]);
    const { signedPreKey, ...withoutSigned } = fresh.upload();
    expect((await put(fresh, withoutSigned)).body.details).toEqual([{ field: 'signedPreKey', message: expect.any(String) }]);
    expect(identityKey && signedPreKey).toBeTruthy();
  });

  it('refuses bodies that are not a JSON object, and non-UTF-8 Basic credentials', async () => {
    for (const body of ['{"identityKey":', 'null', '[]', '"text"', '{"preKeys":{"keyId":1}}', '{"registrationId":1e300}']) {
      const res = await t.call('PUT', '/v2/keys', body, basic('json_user.1'));
      expect({ body, status: res.status, errorCode: res.body.errorCode }).toEqual({ body, status: 400, errorCode: 'VALIDATION_ERROR' });
    }
    const latin1 = `Basic ${Buffer.from([0xff, 0x2e, 0x31, 0x3a, ...Buffer.from(masterKey)]).toString('base64')}`;
    expect((await t.call('GET', '/v2/keys', undefined, { token: null, headers: { authorization: latin1 } })).status).toBe(401);
  });

  it('refuses bad device ids in the bundle path', async () => {
    for (const deviceId of ['0', '128', 'abc', '1.5']) await expectError(await fetchAs(`/v2/keys/someone/${deviceId}`), 400, 'VALIDATION_ERROR');
  });
});

describe('signatures (422, as Signal)', () => {
  it('refuses a signed pre-key signed by a different identity key, and stores nothing', async () => {
    const bob = new SignalDevice('forged', 1);
    const impostor = new SignalDevice('impostor', 1);
    const res = await put(bob, { ...bob.upload(), signedPreKey: bob.signedPreKey(impostor.identity.privateKey) });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ success: false, errorCode: 'INVALID_SIGNATURE', details: [{ field: 'signedPreKey.signature' }] });
    expect((await fetchAs('/v2/keys/forged/1')).status).toBe(404);
    const audit = await t.store.transaction((tx) => tx.audit.query({ projectId: 'default', userId: 'forged', offset: 0, limit: 10 }));
    expect(audit.items.map((entry) => [entry.action, entry.status, entry.details.errorCode])).toContainEqual([
      'KEYS_REGISTERED',
      'FAILURE',
      'INVALID_SIGNATURE',
    ]);
  });

  it('refuses a Kyber pre-key whose signature does not cover its key', async () => {
    const bob = new SignalDevice('kyber_forged', 1);
    const body = bob.upload({ pqPreKeys: 2 });
    const swapped = { ...body.pqPreKeys[1]!, signature: body.pqPreKeys[0]!.signature };
    const res = await put(bob, { ...body, pqPreKeys: [body.pqPreKeys[0], swapped] });
    await expectError(res, 422, 'INVALID_SIGNATURE');
    expect(res.body.details).toEqual([{ field: 'pqPreKeys.1.signature', message: expect.any(String) }]);
  });

  it('checks signatures of later uploads against the stored identity key', async () => {
    const { device } = await registered('later_sig');
    const res = await put(device, { signedPreKey: device.signedPreKey(new SignalDevice('x', 1).identity.privateKey) });
    await expectError(res, 422, 'INVALID_SIGNATURE');
  });
});

describe('identity and devices', () => {
  it('refuses a different identity key for an existing account with 409 until it is revoked', async () => {
    const { device } = await registered('rekey');
    const newIdentity = new SignalDevice('rekey', 1);
    expect((await put(newIdentity, newIdentity.upload())).status).toBe(409);
    const linked = new SignalDevice('rekey', 2);
    expect((await put(linked, linked.upload())).body.errorCode).toBe('CONFLICT');
    expect((await put(device, { identityKey: device.identityKey, preKeys: [device.preKey()] })).status).toBe(204);
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'rekey' })).status).toBe(200);
    expect((await put(newIdentity, newIdentity.upload())).status).toBe(204);
    expect((await fetchAs('/v2/keys/rekey/1')).body.identityKey).toBe(newIdentity.identityKey);
  });

  it('leaves /v1 key sets alone: a device registered through /v1 is a conflict', async () => {
    expect((await t.call('POST', '/v1/keys/register', registration('v1_user', 1, { deviceId: '1' }).body)).status).toBe(201);
    const device = new SignalDevice('v1_user', 1);
    await expectError(await put(device, device.upload()), 409, 'CONFLICT');
    await expectError(await fetchAs('/v2/keys/v1_user/*'), 404, 'NOT_FOUND');
  });
});

describe('shared with /v1', () => {
  it('reaches E.164 identifiers from /v1 and keeps Signal keys out of /v1 bundles, rotations and sessions', async () => {
    await registered('+16044401234');
    const verify = await t.call('GET', '/v1/keys/verify/+16044401234');
    expect(verify.body.data).toMatchObject({ isValid: true, status: 'active' });
    await expectError(await t.call('GET', '/v1/keys/bundle/+16044401234'), 404, 'NOT_FOUND');
    await expectError(
      await t.call('POST', '/v1/keys/rotate', { userId: '+16044401234', deviceId: '1', newOneTimePreKeys: registration('x', 1).body.oneTimePreKeys }),
      404,
      'NOT_FOUND',
    );
    await t.call('POST', '/v1/keys/register', registration('v1_initiator', 1).body);
    const session = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'v1_initiator',
      responderUserId: '+16044401234',
      initiatorEphemeralKey: registration('y', 1).body.oneTimePreKeys[0]!.publicKey,
    });
    await expectError(session, 404, 'NOT_FOUND');
    expect((await t.call('POST', '/v1/keys/revoke', { userId: '+16044401234' })).status).toBe(200);
    await expectError(await fetchAs('/v2/keys/%2B16044401234/1'), 404, 'NOT_FOUND');
  });

  it('a user revoked with /v1/keys/revoke is gone from /v2', async () => {
    const { device } = await registered('revoked_user');
    const linked = new SignalDevice('revoked_user', 2, device.identity);
    expect((await put(linked, linked.upload({ identityKey: false }))).status).toBe(204);
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'revoked_user', deviceId: '2' })).status).toBe(200);
    expect((await fetchAs('/v2/keys/revoked_user/*')).body.devices.map((item: any) => item.deviceId)).toEqual([1]);
    await expectError(await fetchAs('/v2/keys/revoked_user/2'), 404, 'NOT_FOUND');
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'revoked_user' })).status).toBe(200);
    for (const path of ['/v2/keys/revoked_user/1', '/v2/keys/revoked_user/*']) {
      const res = await fetchAs(path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ success: false, errorCode: 'NOT_FOUND' });
    }
    expect((await t.call('GET', '/v2/keys', undefined, basic('revoked_user.1'))).body).toEqual({ count: 0, pqCount: 0 });
    expect((await t.call('GET', '/v1/keys/verify/revoked_user?deviceId=1')).body.data).toMatchObject({ isValid: false, status: 'revoked' });
  });

  it('/v1 verify shows a Signal key set with the fingerprint of its identity key bytes', async () => {
    const { device } = await registered('verified_user', 1, { preKeys: 3 });
    const res = await t.call('GET', '/v1/keys/verify/verified_user?deviceId=1');
    const bytes = Buffer.from(device.identityKey, 'base64');
    expect(res.body.data).toMatchObject({
      isValid: true,
      status: 'active',
      oneTimePreKeysRemaining: 3,
      identityKeyFingerprint: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
    });
  });

  it('a suspended device is 403 by id and left out of *', async () => {
    const { device } = await registered('suspended_user');
    const linked = new SignalDevice('suspended_user', 2, device.identity);
    expect((await put(linked, linked.upload({ identityKey: false }))).status).toBe(204);
    expect((await t.call('POST', '/v1/keys/suspend', { userId: 'suspended_user', deviceId: '1' })).status).toBe(200);
    expect((await fetchAs('/v2/keys/suspended_user/1')).body.errorCode).toBe('KEYS_SUSPENDED');
    expect((await fetchAs('/v2/keys/suspended_user/*')).body.devices.map((item: any) => item.deviceId)).toEqual([2]);
    expect((await put(device, { preKeys: [device.preKey()] })).body.errorCode).toBe('KEYS_SUSPENDED');
  });

  it('writes the /v1 audit actions and events for uploads and fetches', async () => {
    const { device } = await registered('audited_user', 1, { preKeys: 2, pqPreKeys: 2 });
    expect((await put(device, { signedPreKey: device.signedPreKey(), preKeys: [device.preKey()] })).status).toBe(204);
    await fetchAs('/v2/keys/audited_user/1');
    const { items } = await t.store.transaction((tx) => tx.audit.query({ projectId: 'default', userId: 'audited_user', offset: 0, limit: 20 }));
    const actions = items.map((entry) => entry.action).reverse();
    expect(actions).toEqual(['KEYS_REGISTERED', 'KEYS_ROTATED', 'PREKEYS_REPLENISHED', 'PREKEY_CONSUMED', 'PREKEY_CONSUMED', 'BUNDLE_FETCHED']);
    expect(items.find((entry) => entry.action === 'PREKEYS_REPLENISHED')!.details).toMatchObject({ added: 1, remaining: 1, pqAdded: 0, pqRemaining: 2 });
    const events = await t.store.transaction((tx) => tx.events.listAfter('default', ['audited_user'], '0', 20));
    expect(events.map((event) => event.event)).toEqual(['keys.registered', 'keys.rotated', 'prekeys.replenished', 'prekeys.exhausted', 'prekeys.low']);
  });

  it('treats a re-sent unchanged signed pre-key as no change (no rotation, no event)', async () => {
    const { device, body } = await registered('resend_user');
    expect((await put(device, { identityKey: device.identityKey, signedPreKey: body.signedPreKey })).status).toBe(204);
    const events = await t.store.transaction((tx) => tx.events.listAfter('default', ['resend_user'], '0', 20));
    expect(events.map((event) => event.event)).toEqual(['keys.registered']);
  });

  it('never hands the same one-time pre-key to two concurrent fetches', async () => {
    const { body } = await registered('concurrent_user', 1, { preKeys: 5, pqPreKeys: 5 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => fetchAs('/v2/keys/concurrent_user/1')));
    const items = responses.map((res) => res.body.devices[0]);
    const ecIds = items.flatMap((item) => (item.preKey ? [item.preKey.keyId] : []));
    const kyberIds = items.map((item) => item.pqPreKey.keyId).filter((keyId) => keyId !== body.pqLastResortPreKey.keyId);
    expect(new Set(ecIds).size).toBe(5);
    expect(ecIds).toHaveLength(5);
    expect(new Set(kyberIds)).toEqual(new Set(body.pqPreKeys.map((key) => key.keyId)));
    expect(kyberIds).toHaveLength(5);
  });

  it('raises prekeys.low (EC and Kyber) from /v2 fetches', async () => {
    await registered('low_user', 1, { preKeys: 6, pqPreKeys: 6 });
    for (let i = 0; i < 2; i++) expect((await fetchAs('/v2/keys/low_user/1')).status).toBe(200);
    const events = await t.store.transaction((tx) => tx.events.listAfter('default', ['low_user'], '0', 20));
    const low = events.filter((event) => event.event === 'prekeys.low').map((event) => event.data);
    expect(low).toEqual([
      { deviceId: '1', remaining: 4, threshold: 5 },
      { deviceId: '1', remaining: 4, threshold: 5, kind: 'kyber' },
    ]);
  });
});

describe('POST /v2/keys/check', () => {
  const digestOf = (identityKey: string, signedPreKey: { keyId: number; publicKey: string }, lastResort: { keyId: number; publicKey: string }) => {
    const id = (keyId: number) => {
      const buffer = Buffer.alloc(8);
      buffer.writeBigUInt64BE(BigInt(keyId));
      return buffer;
    };
    const hash = createHash('sha256');
    for (const part of [
      Buffer.from(identityKey, 'base64'),
      id(signedPreKey.keyId),
      Buffer.from(signedPreKey.publicKey, 'base64'),
      id(lastResort.keyId),
      Buffer.from(lastResort.publicKey, 'base64'),
    ]) {
      hash.update(part);
    }
    return hash.digest('base64');
  };

  it("is 200 for Signal's digest of the stored keys and 409 otherwise", async () => {
    const { device, body } = await registered('check_user');
    const check = (digest: string) => t.call('POST', '/v2/keys/check', { identityType: 'aci', digest }, basic('check_user.1'));
    const good = await check(digestOf(device.identityKey, body.signedPreKey, body.pqLastResortPreKey));
    expect(good.status).toBe(200);
    expect(good.body.success).toBe(true);
    const stale = await check(digestOf(device.identityKey, body.pqLastResortPreKey, body.signedPreKey));
    expect(stale.status).toBe(409);
    expect(stale.body.errorCode).toBe('CONFLICT');
    expect((await check('short')).status).toBe(400);
  });

  it('is 409 when the device has no Kyber last-resort key or no keys', async () => {
    const device = new SignalDevice('check_old', 1);
    expect((await put(device, { identityKey: device.identityKey, signedPreKey: device.signedPreKey() })).status).toBe(204);
    const digest = toBase64(new Uint8Array(32));
    await expectError(await t.call('POST', '/v2/keys/check', { digest }, basic('check_old.1')), 409, 'CONFLICT');
    await expectError(await t.call('POST', '/v2/keys/check', { digest }, basic('nobody.1')), 409, 'CONFLICT');
  });
});

describe('limits shared with /v1', () => {
  it('applies the bundle rate limit and the drain limit to /v2 fetches', async () => {
    const limited = await createTestApp({ http: { rateLimitBundle: 2 }, settings: { drainLimitPerMinute: 1 } });
    try {
      const bob = new SignalDevice('limited_bob', 1);
      const body = bob.upload({ preKeys: 3, pqPreKeys: 3 });
      expect((await limited.call('PUT', '/v2/keys', body, basic('limited_bob.1'))).status).toBe(204);
      const { token } = await insertApiKey(limited.store, { acl: ['bundles.fetch'] });
      const fetch = () => limited.call('GET', '/v2/keys/limited_bob/1', undefined, basic('alice.1', token));
      const first = await fetch();
      expect(first.body.devices[0].preKey.keyId).toBe(body.preKeys[0]!.keyId);
      expect(first.headers.get('ratelimit-limit')).toBe('2');
      const drained = await fetch(); // past the drain limit: nothing consumed, last-resort Kyber key served
      expect(drained.body.devices[0].preKey).toBeUndefined();
      expect(drained.body.devices[0].pqPreKey).toEqual(body.pqLastResortPreKey);
      const limitedOut = await fetch();
      expect(limitedOut.status).toBe(429);
      expect(limitedOut.body.errorCode).toBe('RATE_LIMITED');
      expect(limitedOut.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });
});
