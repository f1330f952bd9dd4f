/**
 * ML-KEM-1024 pre-keys in /v1: register and rotate (checks, caps, body size), bundles (taken in
 * the EC key's transaction, last resort, counts), events, drain limit, PQXDH sessions and the
 * kem-ciphertext step. Runs on sqljs and PGlite (vitest `pglite` project).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { testBackend } from '../helpers/backend.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey, registration, type TestIdentity } from '../helpers/keys.ts';
import { makePqPreKey, makePqPreKeys, wire } from '../helpers/pq-keys.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** A register body with `ec` EC and `pq` ML-KEM one-time pre-keys and an ML-KEM last-resort key. */
function pqRegistration(userId: string, ec: number, pq: number, extra: Record<string, unknown> = {}) {
  const identity = makeIdentity();
  const lastResort = makePqPreKey(identity, `pqlr_${userId}`);
  return {
    identity,
    lastResort,
    body: {
      userId,
      identityKey: identity.identityKey,
      signedPreKey: makeSignedPreKey(identity),
      oneTimePreKeys: makePreKeys(ec),
      pqOneTimePreKeys: makePqPreKeys(identity, pq),
      pqLastResortPreKey: wire(lastResort),
      ...extra,
    },
  };
}

const events = (userId: string) => t.store.transaction((tx) => tx.events.listAfter('default', [userId], '0', 1000));
const flipLastHex = (hex: string) => hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');

describe('register with ML-KEM pre-keys', () => {
  it('stores them, counts them in register, verify and list, and hands them out oldest first with signatures', async () => {
    const { body } = pqRegistration('pq_alice', 2, 3);
    const res = await t.call('POST', '/v1/keys/register', body);
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ oneTimePreKeysCount: 2, pqOneTimePreKeysCount: 3 });
    const verify = await t.call('GET', '/v1/keys/verify/pq_alice');
    expect(verify.body.data).toMatchObject({ oneTimePreKeysRemaining: 2, pqOneTimePreKeysRemaining: 3, pqLastResortPreKeyAvailable: true });
    const listed = (await t.call('GET', '/v1/keys/list?limit=100')).body.data.find((item: { userId: string }) => item.userId === 'pq_alice');
    expect(listed).toMatchObject({ pqOneTimePreKeysRemaining: 3, pqLastResortPreKeyAvailable: true });

    const first = await t.call('GET', '/v1/keys/bundle/pq_alice');
    expect(first.status).toBe(200);
    expect(first.body.data.pqPreKey).toEqual({ ...body.pqOneTimePreKeys[0], lastResort: false });
    expect(first.body.data).toMatchObject({ remainingOneTimePreKeys: 1, remainingPqOneTimePreKeys: 2 });
    expect(first.body.data.warning).toBeUndefined();
    expect((await t.call('GET', '/v1/keys/bundle/pq_alice')).body.data.pqPreKey.keyId).toBe(body.pqOneTimePreKeys[1]!.keyId);
  });

  it('accepts keys as base64 and answers them as lowercase hex', async () => {
    const identity = makeIdentity();
    const key = makePqPreKey(identity);
    const base64 = Buffer.from(key.publicKey, 'hex').toString('base64');
    const { body } = registration('pq_base64', 1);
    const payload = {
      ...body,
      identityKey: identity.identityKey,
      signedPreKey: makeSignedPreKey(identity),
      pqOneTimePreKeys: [{ ...wire(key), publicKey: base64 }],
    };
    expect((await t.call('POST', '/v1/keys/register', payload)).status).toBe(201);
    expect((await t.call('GET', '/v1/keys/bundle/pq_base64')).body.data.pqPreKey.publicKey).toBe(key.publicKey);
  });

  it('refuses a tampered signature (400 INVALID_SIGNATURE), a signature over the raw key without the type byte, and stores nothing', async () => {
    const { body, identity } = pqRegistration('pq_tampered', 1, 3);
    body.pqOneTimePreKeys[1]!.signature = flipLastHex(body.pqOneTimePreKeys[1]!.signature);
    const res = await t.call('POST', '/v1/keys/register', body);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('INVALID_SIGNATURE');
    expect(res.body.details).toEqual([{ field: 'pqOneTimePreKeys.1.signature', message: 'signature does not verify' }]);
    expect((await t.call('GET', '/v1/keys/verify/pq_tampered')).status).toBe(404);

    // The signature must cover 0x0A ‖ key: one over the bare key (as an EC pre-key is signed) is refused.
    const key = makePqPreKey(identity);
    const bare = { ...wire(key), signature: identity.sign(key.publicKey) };
    const again = await t.call('POST', '/v1/keys/register', { ...body, pqOneTimePreKeys: [], pqLastResortPreKey: bare });
    expect(again.body).toMatchObject({ errorCode: 'INVALID_SIGNATURE', details: [{ field: 'pqLastResortPreKey.signature' }] });
    // …and so is a key signed by another identity.
    const other = makePqPreKey(makeIdentity());
    expect((await t.call('POST', '/v1/keys/register', { ...body, pqOneTimePreKeys: [wire(other)], pqLastResortPreKey: undefined })).body.errorCode).toBe(
      'INVALID_SIGNATURE',
    );
  });

  it('refuses wrong lengths, bad encodings, unreduced coefficients (FIPS 203 modulus check) and duplicate ids with VALIDATION_ERROR', async () => {
    const { body, identity } = pqRegistration('pq_bad', 1, 1);
    const key = makePqPreKey(identity);
    const unreduced = Buffer.from(key.publicKey, 'hex');
    unreduced[0] = 0xff; // first 12-bit coefficient becomes 0x?FF with the low nibble of byte 1: ≥ 3329
    unreduced[1] = unreduced[1]! | 0x0f;
    const cases: Array<[string, unknown, string]> = [
      ['short', { ...wire(key), publicKey: key.publicKey.slice(2) }, 'pqOneTimePreKeys.0.publicKey'],
      ['not hex or base64', { ...wire(key), publicKey: `${key.publicKey.slice(0, -2)}zz` }, 'pqOneTimePreKeys.0.publicKey'],
      [
        'modulus',
        { ...wire(key), publicKey: unreduced.toString('hex'), signature: identity.sign(bytesToHex(Uint8Array.of(0x0a, ...unreduced))) },
        'pqOneTimePreKeys.0.publicKey',
      ],
      ['signature length', { ...wire(key), signature: 'ab' }, 'pqOneTimePreKeys.0.signature'],
    ];
    for (const [name, pqKey, field] of cases) {
      const res = await t.call('POST', '/v1/keys/register', { ...body, pqOneTimePreKeys: [pqKey] });
      expect({ name, status: res.status, errorCode: res.body.errorCode, fields: res.body.details.map((d: { field: string }) => d.field) }).toEqual({
        name,
        status: 400,
        errorCode: 'VALIDATION_ERROR',
        fields: [field],
      });
    }
    const duplicate = await t.call('POST', '/v1/keys/register', { ...body, pqOneTimePreKeys: [wire(key), wire(key)] });
    expect(duplicate.body).toMatchObject({ errorCode: 'VALIDATION_ERROR', details: [{ field: 'pqOneTimePreKeys.1.keyId' }] });
    const tooMany = await t.call('POST', '/v1/keys/register', { ...body, pqOneTimePreKeys: Array.from({ length: 101 }, () => wire(key)) });
    expect(tooMany.body.errorCode).toBe('VALIDATION_ERROR');
  });

  it('takes 100 EC + 100 ML-KEM one-time pre-keys and both last-resort keys in one body well under the 1 MiB limit', async () => {
    const { body, identity } = pqRegistration('pq_full', 100, 100, {});
    const full = { ...body, lastResortPreKey: makeSignedPreKey(identity, 'lr_full'), deviceId: 'd'.repeat(64), deviceName: 'n'.repeat(128) };
    // Hex keys are the largest spelling: ~3.3 KB per ML-KEM pre-key, ~345 KB in all.
    const bytes = Buffer.byteLength(JSON.stringify({ ...full, userId: 'u'.repeat(128) }));
    expect(bytes).toBeLessThan(400 * 1024);
    const res = await t.call('POST', '/v1/keys/register', full);
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ oneTimePreKeysCount: 100, pqOneTimePreKeysCount: 100 });
  });
});

describe('rotate with ML-KEM pre-keys', () => {
  it('adds one-time keys and replaces the last-resort key; ids must be new; the stored cap (maxStoredPreKeys, 1,000 by default) holds per kind', async () => {
    const small = await createTestApp({ settings: { maxStoredPreKeys: 4 } });
    try {
      const { body, identity } = pqRegistration('pq_rot', 1, 2);
      expect((await small.call('POST', '/v1/keys/register', body)).status).toBe(201);
      const added = makePqPreKeys(identity, 2);
      const lastResort = makePqPreKey(identity, 'pqlr_new');
      const res = await small.call('POST', '/v1/keys/rotate', { userId: 'pq_rot', newPqOneTimePreKeys: added, newPqLastResortPreKey: wire(lastResort) });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({
        pqOneTimePreKeysAdded: 2,
        totalPqOneTimePreKeysAvailable: 4,
        oneTimePreKeysAdded: 0,
        totalOneTimePreKeysAvailable: 1,
      });
      const over = await small.call('POST', '/v1/keys/rotate', { userId: 'pq_rot', newPqOneTimePreKeys: makePqPreKeys(identity, 1) });
      expect(over.body).toMatchObject({ errorCode: 'VALIDATION_ERROR', details: [{ field: 'newPqOneTimePreKeys' }] });
      const again = await small.call('POST', '/v1/keys/rotate', { userId: 'pq_rot', newPqOneTimePreKeys: [added[0]] });
      expect(again.status).toBe(409);
      const tampered = await small.call('POST', '/v1/keys/rotate', {
        userId: 'pq_rot',
        newPqLastResortPreKey: { ...wire(lastResort), signature: flipLastHex(lastResort.signature) },
      });
      expect(tampered.body.errorCode).toBe('INVALID_SIGNATURE');
      const replenished = (await small.store.transaction((tx) => tx.events.listAfter('default', ['pq_rot'], '0', 100))).find(
        (e) => e.event === 'prekeys.replenished',
      );
      expect(replenished?.data).toMatchObject({ added: 0, pqAdded: 2, pqRemaining: 4 });
      // The new last-resort key is what a bundle serves once the one-time ones are gone.
      for (let i = 0; i < 4; i++) await small.call('GET', '/v1/keys/bundle/pq_rot');
      expect((await small.call('GET', '/v1/keys/bundle/pq_rot')).body.data.pqPreKey).toEqual({ ...wire(lastResort), lastResort: true });
    } finally {
      await small.close();
    }
  });
});

describe('bundles when ML-KEM keys run out', () => {
  it('serve the last-resort key (never consumed) with a warning, and raise pqprekeys.low / pqprekeys.exhausted', async () => {
    const { body, lastResort } = pqRegistration('pq_drain', 10, 6);
    await t.call('POST', '/v1/keys/register', body);
    for (let i = 0; i < 6; i++) await t.call('GET', '/v1/keys/bundle/pq_drain');
    const bundle = (await t.call('GET', '/v1/keys/bundle/pq_drain')).body.data;
    expect(bundle.pqPreKey).toEqual({ ...wire(lastResort), lastResort: true });
    expect(bundle.remainingPqOneTimePreKeys).toBe(0);
    expect(bundle.oneTimePreKey).not.toBeNull();
    expect(bundle.warning).toMatch(/post-quantum/);
    const pqEvents = (await events('pq_drain')).filter((e) => e.event.startsWith('pqprekeys.')).map((e) => [e.event, e.data]);
    expect(pqEvents).toEqual([
      ['pqprekeys.low', { deviceId: 'default', remaining: 4, threshold: 5 }],
      ['pqprekeys.low', { deviceId: 'default', remaining: 3, threshold: 5 }],
      ['pqprekeys.low', { deviceId: 'default', remaining: 2, threshold: 5 }],
      ['pqprekeys.low', { deviceId: 'default', remaining: 1, threshold: 5 }],
      ['pqprekeys.exhausted', { deviceId: 'default', lastResortAvailable: true }],
    ]);
    // EC alerts are their own: 10 - 7 = 3 left, no EC event mentions the PQ keys.
    expect((await events('pq_drain')).filter((e) => e.event === 'prekeys.exhausted')).toEqual([]);
  });

  // PGlite runs in process on one connection (~30 s for 1,000): fewer there; real PostgreSQL gets 1,000 (here and in test/postgres).
  const fetches = testBackend === 'pglite' ? 200 : 1000;
  it(`hand out each of 100 ML-KEM one-time keys once over ${fetches} concurrent fetches`, async () => {
    const { body, lastResort } = pqRegistration('pq_race', 100, 100);
    await t.call('POST', '/v1/keys/register', body);
    const answers = await Promise.all(Array.from({ length: fetches }, () => t.call('GET', '/v1/keys/bundle/pq_race')));
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => [answer.status, answer.body?.errorCode, answer.body?.error])).toEqual([]);
    const oneTime = answers
      .map((answer) => answer.body.data.pqPreKey)
      .filter((key) => !key.lastResort)
      .map((key) => key.keyId);
    expect(oneTime).toHaveLength(100);
    expect(new Set(oneTime)).toEqual(new Set(body.pqOneTimePreKeys.map((key) => key.keyId)));
    expect(answers.filter((answer) => answer.body.data.pqPreKey.keyId === lastResort.keyId)).toHaveLength(fetches - 100);
    expect((await t.call('GET', '/v1/keys/verify/pq_race')).body.data).toMatchObject({ oneTimePreKeysRemaining: 0, pqOneTimePreKeysRemaining: 0 });
  }, 60_000);

  it('count ML-KEM keys against the drain limit of an API key, in the same budget as EC keys (EC first)', async () => {
    const limited = await createTestApp({ settings: { drainLimitPerMinute: 3 } });
    try {
      const { token } = await insertApiKey(limited.store, { acl: ['*'] });
      const { body, lastResort } = pqRegistration('pq_guarded', 5, 5);
      await limited.call('POST', '/v1/keys/register', body);
      const fetched = [];
      for (let i = 0; i < 3; i++) fetched.push((await limited.call('GET', '/v1/keys/bundle/pq_guarded', undefined, { token })).body.data);
      // 3 keys a minute: EC + ML-KEM, then the EC key only, then none.
      expect(fetched.map((bundle) => bundle.oneTimePreKey?.keyId ?? null)).toEqual([body.oneTimePreKeys[0]!.keyId, body.oneTimePreKeys[1]!.keyId, null]);
      expect(fetched.map((bundle) => bundle.pqPreKey.lastResort)).toEqual([false, true, true]);
      expect(fetched[1].pqPreKey.keyId).toBe(lastResort.keyId);
      expect(fetched[1].warning).toMatch(/post-quantum/);
      expect(fetched[2].remainingPqOneTimePreKeys).toBe(4);
      expect((await limited.call('GET', '/v1/keys/verify/pq_guarded')).body.data).toMatchObject({ oneTimePreKeysRemaining: 3, pqOneTimePreKeysRemaining: 4 });
      // A session without postQuantum costs one key, with it two: the budget is spent either way.
      const shared = await limited.call(
        'POST',
        '/v1/keys/shared-secret',
        {
          initiatorUserId: 'pq_guarded',
          responderUserId: 'pq_guarded',
          initiatorEphemeralKey: makePreKeys(1)[0]!.publicKey,
          postQuantum: true,
        },
        { token },
      );
      expect(shared.status).toBe(200);
      expect(shared.body.data.responderBundle).toMatchObject({ oneTimePreKey: null, pqPreKey: { lastResort: true } });
    } finally {
      await limited.close();
    }
  });
});

/** A key set of the initiator; sessions need one. */
async function initiator(userId: string): Promise<TestIdentity> {
  const { body, identity } = registration(userId, 1);
  expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
  return identity;
}

describe('PQXDH sessions', () => {
  const ephemeral = () => makePreKeys(1)[0]!.publicKey;
  const ciphertext = () => bytesToHex(crypto.getRandomValues(new Uint8Array(1568)));
  const sessionEvents = async (userId: string) => (await events(userId)).filter((e) => e.event === 'session.initiated');

  it('postQuantum: hands out an ML-KEM key, announces the session once the ciphertext is stored; the responder reads it', async () => {
    await initiator('pqs_alice');
    const { body } = pqRegistration('pqs_bob', 2, 2);
    await t.call('POST', '/v1/keys/register', body);
    const started = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'pqs_alice',
      responderUserId: 'pqs_bob',
      initiatorEphemeralKey: ephemeral(),
      postQuantum: true,
    });
    expect(started.status).toBe(200);
    const { sessionId, responderBundle } = started.body.data;
    expect(responderBundle.pqPreKey).toEqual({ ...body.pqOneTimePreKeys[0], lastResort: false });
    expect(started.body.data.remainingPqOneTimePreKeys).toBe(1);
    expect(await sessionEvents('pqs_bob')).toEqual([]);
    expect((await t.call('GET', `/v1/keys/shared-secret/${sessionId}`)).body.data).toMatchObject({
      pqPreKeyId: body.pqOneTimePreKeys[0]!.keyId,
      kemCiphertext: null,
    });
    await expectError(await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`), 409, 'CONFLICT');

    const kem = ciphertext();
    const sent = await t.call('POST', `/v1/keys/shared-secret/${sessionId}/kem-ciphertext`, { kemCiphertext: kem.toUpperCase() });
    expect(sent.status).toBe(200);
    expect(sent.body.data).toMatchObject({ kemCiphertext: kem, pqPreKeyId: body.pqOneTimePreKeys[0]!.keyId, pqPreKeyLastResort: false });
    expect((await sessionEvents('pqs_bob')).map((e) => e.data)).toEqual([{ sessionId, initiatorUserId: 'pqs_alice', deviceId: 'default', postQuantum: true }]);
    // The same ciphertext again is harmless; another one is refused; the responder reads it.
    expect((await t.call('POST', `/v1/keys/shared-secret/${sessionId}/kem-ciphertext`, { kemCiphertext: kem })).status).toBe(200);
    expect((await t.call('POST', `/v1/keys/shared-secret/${sessionId}/kem-ciphertext`, { kemCiphertext: ciphertext() })).body.errorCode).toBe('CONFLICT');
    expect(await sessionEvents('pqs_bob')).toHaveLength(1);
    expect((await t.call('GET', `/v1/keys/shared-secret/${sessionId}`)).body.data.kemCiphertext).toBe(kem);
    expect((await t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`)).status).toBe(200);
  });

  it('without postQuantum: no ML-KEM key is taken and the session is announced at once, as before', async () => {
    await initiator('pqs_carol');
    const { body } = pqRegistration('pqs_dave', 2, 2);
    await t.call('POST', '/v1/keys/register', body);
    const started = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'pqs_carol',
      responderUserId: 'pqs_dave',
      initiatorEphemeralKey: ephemeral(),
    });
    expect(started.body.data.responderBundle.pqPreKey).toBeUndefined();
    expect((await t.call('GET', '/v1/keys/verify/pqs_dave')).body.data.pqOneTimePreKeysRemaining).toBe(2);
    expect(await sessionEvents('pqs_dave')).toHaveLength(1);
    const refused = await t.call('POST', `/v1/keys/shared-secret/${started.body.data.sessionId}/kem-ciphertext`, { kemCiphertext: ciphertext() });
    expect(refused.body.errorCode).toBe('CONFLICT');
  });

  it('requirePostQuantum: 409 with nothing consumed when the responder has no ML-KEM key; bad ciphertexts are 400', async () => {
    await initiator('pqs_erin');
    const { body } = registration('pqs_classic', 3);
    await t.call('POST', '/v1/keys/register', body);
    const refused = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'pqs_erin',
      responderUserId: 'pqs_classic',
      initiatorEphemeralKey: ephemeral(),
      requirePostQuantum: true,
    });
    await expectError(refused, 409, 'CONFLICT');
    expect(refused.body.details).toEqual([{ field: 'requirePostQuantum', message: expect.any(String) }]);
    expect((await t.call('GET', '/v1/keys/verify/pqs_classic')).body.data.oneTimePreKeysRemaining).toBe(3);
    // With postQuantum only, such a responder gets an X3DH session (pqPreKey null), announced at once.
    const fallback = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'pqs_erin',
      responderUserId: 'pqs_classic',
      initiatorEphemeralKey: ephemeral(),
      postQuantum: true,
    });
    expect(fallback.body.data.responderBundle.pqPreKey).toBeNull();
    expect(await sessionEvents('pqs_classic')).toHaveLength(1);

    const { body: pqBody } = pqRegistration('pqs_frank', 1, 1);
    await t.call('POST', '/v1/keys/register', pqBody);
    const started = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'pqs_erin',
      responderUserId: 'pqs_frank',
      initiatorEphemeralKey: ephemeral(),
      postQuantum: true,
    });
    const path = `/v1/keys/shared-secret/${started.body.data.sessionId}/kem-ciphertext`;
    for (const kemCiphertext of ['ab'.repeat(1567), 'zz'.repeat(1568), 42]) {
      expect((await t.call('POST', path, { kemCiphertext })).body.errorCode).toBe('VALIDATION_ERROR');
    }
    expect((await t.call('POST', '/v1/keys/shared-secret/sess_nope/kem-ciphertext', { kemCiphertext: ciphertext() })).status).toBe(404);
    // Only a key that may act as the initiator sends the ciphertext.
    const { token } = await insertApiKey(t.store, { acl: ['bundles.fetch'], userIds: ['pqs_frank'] });
    expect((await t.call('POST', path, { kemCiphertext: ciphertext() }, { token })).body.errorCode).toBe('FORBIDDEN');
  });
});

describe('/v2/keys with ML-KEM-1024 keys', () => {
  it("accepts libsignal's 0x0A type byte beside Kyber1024's 0x08 and hands the key out", async () => {
    const { SignalDevice, toBase64 } = await import('../signal/libsignal-device.ts');
    const device = new SignalDevice('mlkem_signal', 1);
    const identity = makeIdentity();
    const key = makePqPreKey(identity); // only its public key is used; the signature is XEdDSA here
    const serialized = Uint8Array.of(0x0a, ...Buffer.from(key.publicKey, 'hex'));
    const mlKemKey = { keyId: 77, publicKey: toBase64(serialized), signature: toBase64(device.identity.privateKey.sign(serialized)) };
    const upload = { ...device.upload({ pqPreKeys: 1 }), pqPreKeys: [mlKemKey] };
    const auth = { token: null, headers: device.basicAuth((await import('../helpers/app.ts')).masterKey) };
    expect((await t.call('PUT', '/v2/keys', upload, auth)).status).toBe(204);
    const fetched = await t.call('GET', '/v2/keys/mlkem_signal/1', undefined, auth);
    expect(fetched.body.devices[0].pqPreKey).toEqual(mlKemKey);
    const unreduced = Uint8Array.from(serialized);
    unreduced[1] = 0xff;
    unreduced[2] = 0xff;
    const bad = { ...upload, pqPreKeys: [{ ...mlKemKey, keyId: 78, publicKey: toBase64(unreduced) }] };
    expect((await t.call('PUT', '/v2/keys', bad, auth)).body.errorCode).toBe('VALIDATION_ERROR');
  });
});
