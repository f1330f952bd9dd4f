import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey, registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('POST /v1/keys/register', () => {
  it('registers a key set with the seed shape', async () => {
    const { body } = registration('reg_alice', 2, { deviceId: 'device_xyz', deviceName: 'iPhone 15' });
    const res = await t.call('POST', '/v1/keys/register', body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      message: 'Keys registered successfully',
      data: {
        userId: 'reg_alice',
        signedPreKeyId: body.signedPreKey.keyId,
        oneTimePreKeysCount: 2,
        status: 'active',
      },
    });
    expect(res.body.data.identityKeyFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(res.body.data.registeredAt)).not.toBeNaN();
  });

  it('computes the fingerprint as the first 16 hex of SHA-256 of the identity key', async () => {
    const { body } = registration('reg_fp', 1);
    const res = await t.call('POST', '/v1/keys/register', body);
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256').update(Buffer.from(body.identityKey, 'hex')).digest('hex').slice(0, 16);
    expect(res.body.data.identityKeyFingerprint).toBe(expected);
  });

  it('accepts upper-case hex and stores it lower-case', async () => {
    const { body } = registration('reg_upper', 1);
    const upper = { ...body, identityKey: body.identityKey.toUpperCase() };
    expect((await t.call('POST', '/v1/keys/register', upper)).status).toBe(201);
    const bundle = await t.call('GET', '/v1/keys/bundle/reg_upper');
    expect(bundle.body.data.identityKey).toBe(body.identityKey);
  });

  it('refuses a second non-revoked key set for the same user and device with 409', async () => {
    const { body } = registration('reg_dup', 1);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const again = await t.call('POST', '/v1/keys/register', registration('reg_dup', 1).body);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ success: false, error: 'Active keys already exist for this user', errorCode: 'CONFLICT' });
    // another device of the same user is fine
    const other = await t.call('POST', '/v1/keys/register', registration('reg_dup', 1, { deviceId: 'tablet' }).body);
    expect(other.status).toBe(201);
  });

  it('allows registering again after revocation', async () => {
    const { body } = registration('reg_again', 1);
    await t.call('POST', '/v1/keys/register', body);
    await t.call('POST', '/v1/keys/revoke', { userId: 'reg_again' });
    expect((await t.call('POST', '/v1/keys/register', registration('reg_again', 1).body)).status).toBe(201);
  });

  it('rejects a signature by another identity key with INVALID_SIGNATURE', async () => {
    const { body } = registration('reg_badsig', 1);
    const other = makeIdentity();
    const res = await t.call('POST', '/v1/keys/register', { ...body, signedPreKey: makeSignedPreKey(other) });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('INVALID_SIGNATURE');
  });

  it('rejects a last-resort pre-key with a bad signature', async () => {
    const { body } = registration('reg_lr_bad', 1);
    const lastResortPreKey = { ...makeSignedPreKey(makeIdentity()) };
    const res = await t.call('POST', '/v1/keys/register', { ...body, lastResortPreKey });
    expect(res.body.errorCode).toBe('INVALID_SIGNATURE');
  });

  it('rejects low-order X25519 keys and invalid Ed25519 points', async () => {
    const { body } = registration('reg_loworder', 2);
    const zero = '00'.repeat(32);
    const lowOrder = await t.call('POST', '/v1/keys/register', {
      ...body,
      oneTimePreKeys: [{ keyId: 'opk_low', publicKey: zero }],
    });
    expect(lowOrder.status).toBe(400);
    expect(lowOrder.body.errorCode).toBe('VALIDATION_ERROR');
    expect(lowOrder.body.details[0].field).toBe('oneTimePreKeys.0.publicKey');

    // the order-8 point 0x5f9c95bc… (little-endian) from libsodium's blocklist
    const order8 = 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800';
    const res8 = await t.call('POST', '/v1/keys/register', { ...body, oneTimePreKeys: [{ keyId: 'opk_o8', publicKey: order8 }] });
    expect(res8.body.errorCode).toBe('VALIDATION_ERROR');

    // y = 2 does not decode to a curve point
    const notAPoint = '02' + '00'.repeat(31);
    const bad = await t.call('POST', '/v1/keys/register', { ...body, identityKey: notAPoint });
    await expectError(bad, 400, 'VALIDATION_ERROR');
    expect(bad.body.details[0].field).toBe('identityKey');
  });

  it.each([
    ['non-JSON body', '{not json', 'VALIDATION_ERROR'],
    ['wrong types', { userId: 42, identityKey: true }, 'VALIDATION_ERROR'],
    ['bad hex', 'badhex', 'VALIDATION_ERROR'],
    ['wrong length', 'short', 'VALIDATION_ERROR'],
    ['101 pre-keys', 'many', 'VALIDATION_ERROR'],
    ['no pre-keys', 'none', 'VALIDATION_ERROR'],
    ['unknown field', 'unknown', 'VALIDATION_ERROR'],
    ['duplicate keyIds', 'dupes', 'VALIDATION_ERROR'],
    ['bad userId', 'baduser', 'VALIDATION_ERROR'],
  ])('rejects %s with 400', async (_name, variant, code) => {
    const { body } = registration('reg_bad', 3);
    const variants: Record<string, unknown> = {
      badhex: { ...body, identityKey: 'zz'.repeat(32) },
      short: { ...body, identityKey: 'ab'.repeat(31) },
      many: { ...body, oneTimePreKeys: makePreKeys(101) },
      none: { ...body, oneTimePreKeys: [] },
      unknown: { ...body, privateKey: 'ab'.repeat(32) },
      dupes: { ...body, oneTimePreKeys: [body.oneTimePreKeys[0], body.oneTimePreKeys[0]] },
      baduser: { ...body, userId: 'has space' },
    };
    const payload = typeof variant === 'string' && variant in variants ? variants[variant] : variant;
    const res = await t.call('POST', '/v1/keys/register', payload);
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.errorCode).toBe(code);
    expect(typeof res.body.error).toBe('string');
  });

  it('names each bad field in details', async () => {
    const res = await t.call('POST', '/v1/keys/register', { userId: '', identityKey: 'xyz' });
    await expectError(res, 400, 'VALIDATION_ERROR');
    const fields = res.body.details.map((detail: { field: string }) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['userId', 'identityKey', 'signedPreKey', 'oneTimePreKeys']));
  });

  it('refuses a body that is not JSON by content type', async () => {
    const res = await t.call('POST', '/v1/keys/register', 'userId=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
  });

  it('refuses an oversize body with 413 and keeps serving', async () => {
    const res = await t.call('POST', '/v1/keys/register', { padding: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(res.body.errorCode).toBe('PAYLOAD_TOO_LARGE');
    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });
});

describe('POST /v1/keys/rotate', () => {
  it('rotates the signed pre-key, adds pre-keys and keeps history', async () => {
    const { body, identity } = registration('rot_user', 3);
    await t.call('POST', '/v1/keys/register', body);
    const before = await t.call('GET', '/v1/keys/verify/rot_user');
    expect(before.body.data.lastRotatedAt).toBeNull();

    const newSignedPreKey = makeSignedPreKey(identity);
    const res = await t.call('POST', '/v1/keys/rotate', {
      userId: 'rot_user',
      newSignedPreKey,
      newOneTimePreKeys: makePreKeys(4),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      message: 'Keys rotated successfully',
      data: { signedPreKeyRotated: true, newSignedPreKeyId: newSignedPreKey.keyId, oneTimePreKeysAdded: 4, totalOneTimePreKeysAvailable: 7 },
    });
    const bundle = await t.call('GET', '/v1/keys/bundle/rot_user');
    expect(bundle.body.data.signedPreKey).toEqual(newSignedPreKey);
    const after = await t.call('GET', '/v1/keys/verify/rot_user');
    expect(after.body.data.lastRotatedAt).toBe(res.body.data.rotatedAt);

    const keySet = (await t.store.transaction((tx) => tx.keySets.listForUser('default', 'rot_user')))[0]!;
    const history = await t.store.transaction((tx) => tx.keySets.signedPreKeyHistory(keySet.id));
    expect(history.map((key) => key.keyId)).toEqual([body.signedPreKey.keyId]);
  });

  it('replenishes only, without touching the signed pre-key', async () => {
    const { body } = registration('rot_replenish', 1);
    await t.call('POST', '/v1/keys/register', body);
    const res = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_replenish', newOneTimePreKeys: makePreKeys(2) });
    expect(res.body.data).toMatchObject({ signedPreKeyRotated: false, newSignedPreKeyId: null, oneTimePreKeysAdded: 2, totalOneTimePreKeysAvailable: 3 });
  });

  it('answers 404 without a key set, 410 after revocation, 409 for a stored keyId, 400 past 1,000', async () => {
    await expectError(await t.call('POST', '/v1/keys/rotate', { userId: 'rot_nobody', newOneTimePreKeys: makePreKeys(1) }), 404, 'NOT_FOUND');

    const { body, identity } = registration('rot_errors', 100);
    await t.call('POST', '/v1/keys/register', body);
    const duplicate = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_errors', newOneTimePreKeys: [body.oneTimePreKeys[5]] });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.errorCode).toBe('CONFLICT');

    for (let i = 0; i < 9; i++) {
      const ok = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_errors', newOneTimePreKeys: makePreKeys(100) });
      expect(ok.status).toBe(200);
    }
    const full = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_errors', newOneTimePreKeys: makePreKeys(1) });
    expect(full.status).toBe(400);
    expect(full.body.errorCode).toBe('VALIDATION_ERROR');

    const badSignature = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_errors', newSignedPreKey: makeSignedPreKey(makeIdentity()) });
    expect(badSignature.body.errorCode).toBe('INVALID_SIGNATURE');

    await t.call('POST', '/v1/keys/revoke', { userId: 'rot_errors' });
    const revoked = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_errors', newSignedPreKey: makeSignedPreKey(identity) });
    expect(revoked.status).toBe(410);
    expect(revoked.body.errorCode).toBe('KEYS_REVOKED');
  });

  it('needs something to rotate', async () => {
    const res = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_user' });
    await expectError(res, 400, 'VALIDATION_ERROR');
  });

  it('asks for deviceId when the user has several devices', async () => {
    await t.call('POST', '/v1/keys/register', registration('rot_multi', 1, { deviceId: 'a' }).body);
    await t.call('POST', '/v1/keys/register', registration('rot_multi', 1, { deviceId: 'b' }).body);
    const ambiguous = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_multi', newOneTimePreKeys: makePreKeys(1) });
    await expectError(ambiguous, 400, 'VALIDATION_ERROR');
    const precise = await t.call('POST', '/v1/keys/rotate', { userId: 'rot_multi', deviceId: 'b', newOneTimePreKeys: makePreKeys(1) });
    expect(precise.body.data.totalOneTimePreKeysAvailable).toBe(2);
  });
});

describe('POST /v1/keys/revoke, suspend, unsuspend', () => {
  it('revokes with the seed shape; verify then reports revoked; bundle 410', async () => {
    await t.call('POST', '/v1/keys/register', registration('rev_user', 2).body);
    const res = await t.call('POST', '/v1/keys/revoke', { userId: 'rev_user', reason: 'Device compromised' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      message: 'Keys revoked successfully',
      data: { userId: 'rev_user', status: 'revoked', reason: 'Device compromised' },
    });
    const verify = await t.call('GET', '/v1/keys/verify/rev_user');
    expect(verify.status).toBe(200);
    expect(verify.body.data).toMatchObject({ isValid: false, status: 'revoked' });
    const bundle = await t.call('GET', '/v1/keys/bundle/rev_user');
    expect(bundle.status).toBe(410);
    expect(bundle.body.errorCode).toBe('KEYS_REVOKED');
    const again = await t.call('POST', '/v1/keys/revoke', { userId: 'rev_user' });
    expect(again.status).toBe(410);
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'rev_nobody' })).status).toBe(404);
  });

  it('revokes every device without deviceId, one device with it', async () => {
    await t.call('POST', '/v1/keys/register', registration('rev_multi', 1, { deviceId: 'phone' }).body);
    await t.call('POST', '/v1/keys/register', registration('rev_multi', 1, { deviceId: 'laptop' }).body);
    await t.call('POST', '/v1/keys/register', registration('rev_multi', 1, { deviceId: 'tablet' }).body);
    const one = await t.call('POST', '/v1/keys/revoke', { userId: 'rev_multi', deviceId: 'phone' });
    expect(one.body.data.deviceIds).toEqual(['phone']);
    const rest = await t.call('POST', '/v1/keys/revoke', { userId: 'rev_multi' });
    expect(rest.body.data.deviceIds.sort()).toEqual(['laptop', 'tablet']);
    await expectError(await t.call('GET', '/v1/keys/bundle/rev_multi'), 410, 'KEYS_REVOKED');
  });

  it('suspends (bundle 403 KEYS_SUSPENDED) and unsuspends', async () => {
    await t.call('POST', '/v1/keys/register', registration('sus_user', 2).body);
    const suspended = await t.call('POST', '/v1/keys/suspend', { userId: 'sus_user', reason: 'review' });
    expect(suspended.body.data.status).toBe('suspended');
    const bundle = await t.call('GET', '/v1/keys/bundle/sus_user');
    expect(bundle.status).toBe(403);
    expect(bundle.body.errorCode).toBe('KEYS_SUSPENDED');
    expect((await t.call('GET', '/v1/keys/verify/sus_user')).body.data).toMatchObject({ status: 'suspended', isValid: false });
    await t.call('POST', '/v1/keys/unsuspend', { userId: 'sus_user' });
    expect((await t.call('GET', '/v1/keys/bundle/sus_user')).status).toBe(200);
    await expectError(await t.call('POST', '/v1/keys/suspend', { userId: 'sus_nobody' }), 404, 'NOT_FOUND');
  });
});
