/**
 * Attack: one API key drains a user's one-time pre-keys past the drain limit by fetching every
 * device at once (`GET /v2/keys/:id/*`), which used to count as one consumption per request.
 * The limit is charged per pre-key consumed, on every consuming route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { SignalDevice } from '../signal/libsignal-device.ts';

const drainLimit = 6;
let t: TestApp;
let attacker: string;
beforeAll(async () => {
  t = await createTestApp({ settings: { drainLimitPerMinute: drainLimit } });
  attacker = (await insertApiKey(t.store, { acl: ['bundles.fetch'] })).token;
});
afterAll(() => t.close());

const basic = (user: string, key: string) => ({ token: null, headers: { authorization: `Basic ${btoa(`${user}:${key}`)}` } });

async function signalAccount(name: string, devices: number) {
  const first = new SignalDevice(name, 1);
  for (let deviceId = 1; deviceId <= devices; deviceId++) {
    const device = deviceId === 1 ? first : new SignalDevice(name, deviceId, first.identity);
    const body = device.upload({ preKeys: 5, pqPreKeys: 5, identityKey: deviceId === 1 });
    expect((await t.call('PUT', '/v2/keys', body, basic(`${name}.${deviceId}`, masterKey))).status).toBe(204);
  }
  return first;
}

async function remaining(name: string, devices: number) {
  let ec = 0;
  let kyber = 0;
  for (let deviceId = 1; deviceId <= devices; deviceId++) {
    const res = await t.call('GET', `/v2/keys?identifier=${name}&deviceId=${deviceId}`);
    ec += res.body.count;
    kyber += res.body.pqCount;
  }
  return ec + kyber;
}

describe('drain limit per pre-key consumed', () => {
  it('GET /v2/keys/:id/* consumes at most the limit across every device', async () => {
    await signalAccount('victim_many', 5); // 5 devices × (5 EC + 5 Kyber) = 50 one-time pre-keys
    const before = await remaining('victim_many', 5);
    for (let i = 0; i < 5; i++) {
      expect((await t.call('GET', '/v2/keys/victim_many/*', undefined, basic('mallory.1', attacker))).status).toBe(200);
    }
    expect(before - (await remaining('victim_many', 5))).toBe(drainLimit);
  });

  it('GET /v2/keys/:id/:device counts the EC and the Kyber key', async () => {
    await signalAccount('victim_one', 1);
    const before = await remaining('victim_one', 1);
    for (let i = 0; i < 5; i++) {
      expect((await t.call('GET', '/v2/keys/victim_one/1', undefined, basic('mallory.1', attacker))).status).toBe(200);
    }
    expect(before - (await remaining('victim_one', 1))).toBe(drainLimit);
  });

  it('/v1 bundle and shared-secret share the same per-key budget', async () => {
    const victim = registration('victim_v1', 20);
    expect((await t.call('POST', '/v1/keys/register', victim.body)).status).toBe(201);
    const initiator = registration('mallory_v1', 2);
    expect((await t.call('POST', '/v1/keys/register', initiator.body)).status).toBe(201);
    const key = (await insertApiKey(t.store, { acl: ['bundles.fetch'] })).token;
    let handedOut = 0;
    for (let i = 0; i < drainLimit; i++) {
      const bundle = await t.call('GET', '/v1/keys/bundle/victim_v1', undefined, { token: key });
      if (bundle.body.data.oneTimePreKey) handedOut++;
      const session = await t.call(
        'POST',
        '/v1/keys/shared-secret',
        {
          initiatorUserId: 'mallory_v1',
          responderUserId: 'victim_v1',
          initiatorEphemeralKey: victim.body.signedPreKey.publicKey,
        },
        { token: key },
      );
      expect(session.status).toBe(200);
      if (session.body.data.responderBundle.oneTimePreKey) handedOut++;
    }
    expect(handedOut).toBe(drainLimit);
    const verify = await t.call('GET', '/v1/keys/verify/victim_v1');
    expect(verify.body.data.oneTimePreKeysRemaining).toBe(20 - drainLimit);
  });

  it('a fetch that finds no one-time pre-key left costs nothing', async () => {
    const device = await signalAccount('victim_empty', 1);
    const key = (await insertApiKey(t.store, { acl: ['bundles.fetch'] })).token;
    // Drained by the (exempt) master key; the limited key's fetches then consume nothing.
    for (let i = 0; i < 5; i++) await t.call('GET', '/v2/keys/victim_empty/1', undefined, basic('admin.1', masterKey));
    expect(await remaining('victim_empty', 1)).toBe(0);
    for (let i = 0; i < 4; i++) await t.call('GET', '/v2/keys/victim_empty/1', undefined, basic('mallory.1', key));
    // After a refill the limited key still has its whole budget.
    const refill = device.upload({ preKeys: 5, pqPreKeys: 5, identityKey: false });
    expect((await t.call('PUT', '/v2/keys', { preKeys: refill.preKeys, pqPreKeys: refill.pqPreKeys }, basic('victim_empty.1', masterKey))).status).toBe(204);
    for (let i = 0; i < 5; i++) await t.call('GET', '/v2/keys/victim_empty/1', undefined, basic('mallory.1', key));
    expect(10 - (await remaining('victim_empty', 1))).toBe(drainLimit);
  });
});
