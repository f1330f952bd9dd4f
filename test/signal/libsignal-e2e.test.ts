/**
 * Unmodified libsignal against /v2/keys (issue 6): Bob's devices upload keys made by libsignal
 * with Basic auth, Alice fetches bundles, builds libsignal PreKeyBundles, encrypts, and Bob
 * decrypts with his libsignal stores.
 */
import { CiphertextMessageType } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { SignalDevice } from './libsignal-device.ts';

let t: TestApp;
let bobKey: string;
let aliceKey: string;

beforeAll(async () => {
  t = await createTestApp();
  // Device keys as an operator would issue them: limited to their own user.
  bobKey = (await insertApiKey(t.store, { acl: ['keys.register', 'keys.read', 'bundles.fetch'], userIds: ['bob*'] })).token;
  aliceKey = (await insertApiKey(t.store, { acl: ['keys.register', 'keys.read', 'bundles.fetch'], userIds: ['alice*'] })).token;
});
afterAll(() => t.close());

async function upload(device: SignalDevice, body: unknown, key = bobKey) {
  const res = await t.call('PUT', '/v2/keys', body, { token: null, headers: device.basicAuth(key) });
  expect(res.status, JSON.stringify(res.body)).toBe(204);
}

async function fetchBundles(alice: SignalDevice, identifier: string, deviceId: string) {
  const res = await t.call('GET', `/v2/keys/${identifier}/${deviceId}`, undefined, { token: null, headers: alice.basicAuth(aliceKey) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { identityKey: string; devices: any[] };
}

/** Alice starts a session with one of Bob's devices from the fetched JSON; Bob decrypts her first message. */
async function sendFirstMessage(alice: SignalDevice, bob: SignalDevice, response: { identityKey: string; devices: any[] }, text: string) {
  const item = response.devices.find((device) => device.deviceId === bob.deviceId);
  await alice.processBundle(response, item, bob.address);
  const message = await alice.encrypt(bob.address, text);
  expect(message.type()).toBe(CiphertextMessageType.PreKey);
  return bob.decryptFirst(alice.address, message);
}

describe('libsignal end to end through /v2/keys', () => {
  it('Bob uploads with Basic auth, Alice fetches bob/1, encrypts, Bob decrypts', async () => {
    const bob = new SignalDevice('bob', 1);
    const alice = new SignalDevice('alice', 1);
    const body = bob.upload({ preKeys: 3, pqPreKeys: 3 });
    await upload(bob, body);

    const counts = await t.call('GET', '/v2/keys', undefined, { token: null, headers: bob.basicAuth(bobKey) });
    expect(counts.body).toEqual({ count: 3, pqCount: 3 });

    const response = await fetchBundles(alice, 'bob', '1');
    expect(response.identityKey).toBe(bob.identityKey);
    expect(response.devices).toHaveLength(1);
    const [item] = response.devices;
    expect(item).toMatchObject({
      deviceId: 1,
      registrationId: bob.registrationId,
      signedPreKey: body.signedPreKey,
      preKey: body.preKeys[0],
      pqPreKey: body.pqPreKeys[0],
    });
    expect(await sendFirstMessage(alice, bob, response, 'hello Bob, from libsignal')).toBe('hello Bob, from libsignal');
    // The one-time keys Alice used are gone from the server (and from Bob's stores).
    const after = await t.call('GET', '/v2/keys', undefined, { token: null, headers: bob.basicAuth(bobKey) });
    expect(after.body).toEqual({ count: 2, pqCount: 2 });
    expect(bob.preKeys.keys.has(body.preKeys[0]!.keyId)).toBe(false);
  });

  it("serves every device with '*', and each device decrypts its own message", async () => {
    const phone = new SignalDevice('bob2', 1);
    const laptop = new SignalDevice('bob2', 2, phone.identity); // a linked device shares the identity
    const alice = new SignalDevice('alice2', 1);
    await upload(phone, phone.upload({ preKeys: 2, pqPreKeys: 2 }));
    // A linked device need not repeat the account's identity key (modern Signal clients don't send it).
    await upload(laptop, laptop.upload({ preKeys: 2, pqPreKeys: 2, identityKey: false }));

    const response = await fetchBundles(alice, 'bob2', '*');
    expect(response.devices.map((device) => device.deviceId)).toEqual([1, 2]);
    expect(response.devices.map((device) => device.registrationId)).toEqual([phone.registrationId, laptop.registrationId]);
    expect(await sendFirstMessage(alice, phone, response, 'to the phone')).toBe('to the phone');
    expect(await sendFirstMessage(alice, laptop, response, 'to the laptop')).toBe('to the laptop');
  });

  it('serves the Kyber last-resort key once the one-time pre-keys are exhausted, and it still works', async () => {
    const bob = new SignalDevice('bob3', 1);
    const body = bob.upload({ preKeys: 1, pqPreKeys: 1 });
    await upload(bob, body);

    const first = new SignalDevice('alice3', 1);
    const firstResponse = await fetchBundles(first, 'bob3', '1');
    expect(firstResponse.devices[0].pqPreKey.keyId).toBe(body.pqPreKeys[0]!.keyId);
    expect(await sendFirstMessage(first, bob, firstResponse, 'one-time keys')).toBe('one-time keys');

    for (const name of ['alice4', 'alice5']) {
      const alice = new SignalDevice(name, 1);
      const response = await fetchBundles(alice, 'bob3', '1');
      const [item] = response.devices;
      expect(item.preKey).toBeUndefined();
      expect(item.pqPreKey).toEqual(body.pqLastResortPreKey);
      expect(await sendFirstMessage(alice, bob, response, `last resort for ${name}`)).toBe(`last resort for ${name}`);
    }
    const counts = await t.call('GET', '/v2/keys', undefined, { token: null, headers: bob.basicAuth(bobKey) });
    expect(counts.body).toEqual({ count: 0, pqCount: 0 });
  });

  it('keeps working after Bob refills: the new one-time keys are served', async () => {
    const bob = new SignalDevice('bob4', 1);
    await upload(bob, bob.upload({ preKeys: 1, pqPreKeys: 1 }));
    const refill = { preKeys: [bob.preKey(), bob.preKey()], pqPreKeys: [bob.kyberPreKey()] };
    await upload(bob, refill);
    const counts = await t.call('GET', '/v2/keys', undefined, { token: null, headers: bob.basicAuth(bobKey) });
    expect(counts.body).toEqual({ count: 2, pqCount: 1 }); // a non-empty list replaces the stored ones
    const alice = new SignalDevice('alice6', 1);
    const response = await fetchBundles(alice, 'bob4', '1');
    expect(response.devices[0].preKey).toEqual(refill.preKeys[0]);
    expect(await sendFirstMessage(alice, bob, response, 'after refill')).toBe('after refill');
  });
});

describe('the seed shape', () => {
  it('accepts an E.164 identifier and a seed-style body with an unsigned EC last-resort key', async () => {
    const bob = new SignalDevice('+16044401234', 1);
    const lastResortKey = bob.preKey();
    const body = { identityKey: bob.identityKey, signedPreKey: bob.signedPreKey(), preKeys: [bob.preKey()], lastResortKey };
    await upload(bob, body, masterKey); // Basic auth takes the master key too
    const alice = new SignalDevice('alice7', 1);
    const first = await fetchBundles(alice, '+16044401234', '1');
    expect(first.devices[0].preKey).toEqual(body.preKeys[0]);
    expect(first.devices[0].pqPreKey).toBeUndefined();
    // With the one-time key gone, the EC last-resort key is served as `preKey` and never consumed.
    for (let i = 0; i < 2; i++) expect((await fetchBundles(alice, '+16044401234', '1')).devices[0].preKey).toEqual(lastResortKey);
  });
});
