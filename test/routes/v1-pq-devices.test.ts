/**
 * ML-KEM pre-keys in the multi-device claim (`GET /v1/keys/bundles/:userId`): every device's
 * bundle carries its `pqPreKey`, taken in the claim's transaction by one batched take per kind;
 * audit entries, counters, `pqprekeys.*` alerts and the drain budget (one budget for both
 * kinds, device by device, EC first). Runs on sqljs and PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { makePqPreKey, makePqPreKeys, wire } from '../helpers/pq-keys.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ settings: { drainLimitPerMinute: 0 } });
});
afterAll(() => t.close());

/** Registers `deviceIds` of one user, each with `ec` EC and `pq` ML-KEM one-time pre-keys (`pq` 0: no ML-KEM keys at all). */
async function registerDevices(app: TestApp, userId: string, deviceIds: string[], ec: number, pq: number) {
  const bodies: Record<string, Record<string, any>> = {};
  for (const deviceId of deviceIds) {
    const { body, identity } = registration(userId, ec, { deviceId });
    const pqFields =
      pq > 0 ? { pqOneTimePreKeys: makePqPreKeys(identity, pq, `pq_${deviceId}`), pqLastResortPreKey: wire(makePqPreKey(identity, `pqlr_${deviceId}`)) } : {};
    bodies[deviceId] = { ...body, ...pqFields };
    expect((await app.call('POST', '/v1/keys/register', bodies[deviceId])).status).toBe(201);
  }
  return bodies;
}

const audit = async (userId: string, action: string) => (await t.call('GET', `/v1/keys/audit?userId=${userId}&action=${action}`)).body.data;
const storedEvents = (userId: string) => t.store.transaction((tx) => tx.events.listAfter('default', [userId], '0', 1000));

describe('multi-device claims with ML-KEM pre-keys', () => {
  it('give every device its oldest ML-KEM key with its EC key, one audit entry per kind, counters moved', async () => {
    const bodies = await registerDevices(t, 'pqmd_ann', ['a', 'b'], 3, 2);
    await registerDevices(t, 'pqmd_ann', ['c'], 3, 0); // an X3DH-only device beside them
    const res = await t.call('GET', '/v1/keys/bundles/pqmd_ann');
    expect(res.status).toBe(200);
    const [a, b, c] = res.body.data.devices;
    expect(a.pqPreKey).toEqual({ ...bodies.a!.pqOneTimePreKeys[0], lastResort: false });
    expect(b.pqPreKey).toEqual({ ...bodies.b!.pqOneTimePreKeys[0], lastResort: false });
    expect(c.pqPreKey).toBeNull();
    expect(res.body.data.devices.map((bundle: { remainingPqOneTimePreKeys: number }) => bundle.remainingPqOneTimePreKeys)).toEqual([1, 1, 0]);
    expect(a.warning).toBeUndefined();

    const consumed = await audit('pqmd_ann', 'PREKEY_CONSUMED');
    expect(consumed).toHaveLength(2);
    const pqEntry = consumed.find((entry: { details: { kind?: string } }) => entry.details.kind === 'kyber');
    expect(pqEntry.details.keys).toEqual([
      { deviceId: 'a', keyId: a.pqPreKey.keyId, remaining: 1 },
      { deviceId: 'b', keyId: b.pqPreKey.keyId, remaining: 1 },
    ]);
    const fetched = await audit('pqmd_ann', 'BUNDLE_FETCHED');
    expect(fetched.map((entry: { details: unknown }) => entry.details)).toEqual([
      {
        devices: [
          { deviceId: 'a', oneTimePreKeyId: a.oneTimePreKey.keyId, pqPreKeyId: a.pqPreKey.keyId, pqLastResortServed: false },
          { deviceId: 'b', oneTimePreKeyId: b.oneTimePreKey.keyId, pqPreKeyId: b.pqPreKey.keyId, pqLastResortServed: false },
          { deviceId: 'c', oneTimePreKeyId: c.oneTimePreKey.keyId },
        ],
      },
    ]);
    // The batched take moved each device's ML-KEM counter, as the single-device take does.
    const listed = (await t.call('GET', '/v1/keys/devices/pqmd_ann')).body.data.devices;
    expect(listed.map((device: { deviceId: string; pqOneTimePreKeysRemaining: number }) => [device.deviceId, device.pqOneTimePreKeysRemaining])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 0],
    ]);
    expect((await t.call('GET', '/v1/keys/bundle/pqmd_ann?deviceId=a')).body.data.pqPreKey.keyId).toBe(bodies.a!.pqOneTimePreKeys[1].keyId);
  });

  it('serve the last-resort ML-KEM key once a device has none left, with pqprekeys.* alerts stored together', async () => {
    const bodies = await registerDevices(t, 'pqmd_bo', ['a', 'b'], 4, 1);
    expect((await t.call('GET', '/v1/keys/bundles/pqmd_bo')).status).toBe(200);
    const alerts = (await storedEvents('pqmd_bo')).filter((event) => event.event.startsWith('pqprekeys.'));
    expect(alerts.map((event) => [event.event, event.data])).toEqual([
      ['pqprekeys.exhausted', { deviceId: 'a', lastResortAvailable: true }],
      ['pqprekeys.exhausted', { deviceId: 'b', lastResortAvailable: true }],
    ]);
    const again = (await t.call('GET', '/v1/keys/bundles/pqmd_bo')).body.data.devices;
    expect(again.map((bundle: { pqPreKey: unknown }) => bundle.pqPreKey)).toEqual([
      { ...bodies.a!.pqLastResortPreKey, lastResort: true },
      { ...bodies.b!.pqLastResortPreKey, lastResort: true },
    ]);
    expect(again[0].warning).toMatch(/post-quantum/);
    expect(again[0].oneTimePreKey).not.toBeNull();
  });

  it('charge both kinds to one drain budget, device by device, the EC key first', async () => {
    const limited = await createTestApp({ settings: { drainLimitPerMinute: 5 } });
    try {
      const { token } = await insertApiKey(limited.store, { acl: ['*'] });
      await registerDevices(limited, 'pqmd_cy', ['a', 'b', 'c'], 3, 3);
      const first = (await limited.call('GET', '/v1/keys/bundles/pqmd_cy', undefined, { token })).body.data.devices;
      // 5 keys: a EC + ML-KEM, b EC + ML-KEM, c EC only.
      expect(first.map((bundle: { oneTimePreKey: unknown }) => bundle.oneTimePreKey !== null)).toEqual([true, true, true]);
      expect(first.map((bundle: { pqPreKey: { lastResort: boolean } }) => bundle.pqPreKey.lastResort)).toEqual([false, false, true]);
      const second = (await limited.call('GET', '/v1/keys/bundles/pqmd_cy', undefined, { token })).body.data.devices;
      expect(second.map((bundle: { oneTimePreKey: unknown }) => bundle.oneTimePreKey)).toEqual([null, null, null]);
      const devices = (await limited.call('GET', '/v1/keys/devices/pqmd_cy')).body.data.devices;
      expect(
        devices.map((device: { oneTimePreKeysRemaining: number; pqOneTimePreKeysRemaining: number }) => [
          device.oneTimePreKeysRemaining,
          device.pqOneTimePreKeysRemaining,
        ]),
      ).toEqual([
        [2, 2],
        [2, 2],
        [2, 3],
      ]);
    } finally {
      await limited.close();
    }
  });
});
