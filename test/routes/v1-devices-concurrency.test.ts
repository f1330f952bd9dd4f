/**
 * Multi-device claims under concurrency (issue 20), on sqljs and PGlite: 1,000 claims at once
 * never hand out a key twice, and a revoke racing the claims answers cleanly — every claim is
 * served from the list before the revoke or after it, never half, and never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { testBackend } from '../helpers/backend.ts';
import { registration } from '../helpers/keys.ts';

/** PGlite is PostgreSQL on one WebAssembly thread (about 60 s for 1,000 claims): it checks the SQL with fewer; real PostgreSQL and the embedded store take all 1,000. */
const claimCount = testBackend === 'pglite' ? 200 : 1000;
const keysPerDevice = claimCount / 20;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ settings: { drainLimitPerMinute: 0 } });
});
afterAll(() => t.close());

interface Claim {
  status: number;
  body: {
    data: {
      deviceListVersion: number;
      devices: Array<{ deviceId: string; oneTimePreKey: { keyId: string } | null }>;
      failures: Record<string, { errorCode: string }>;
    };
  };
}

describe('concurrent multi-device claims', () => {
  it(`${claimCount} claims at once hand out each one-time pre-key exactly once`, async () => {
    const stored = new Set<string>();
    for (const deviceId of ['d1', 'd2', 'd3', 'd4']) {
      const { body } = registration('cc_target', keysPerDevice, { deviceId });
      for (const key of body.oneTimePreKeys) stored.add(key.keyId);
      expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    }
    const claims = (await Promise.all(Array.from({ length: claimCount }, () => t.call('GET', '/v1/keys/bundles/cc_target')))) as Claim[];
    expect(claims.filter((claim) => claim.status !== 200)).toEqual([]);
    const handedOut = claims.flatMap((claim) => claim.body.data.devices.flatMap((bundle) => (bundle.oneTimePreKey ? [bundle.oneTimePreKey.keyId] : [])));
    expect(handedOut).toHaveLength(4 * keysPerDevice);
    expect(new Set(handedOut)).toEqual(stored);
    // every claim served all four devices (with a key or, once drained, without)
    expect(claims.every((claim) => claim.body.data.devices.length === 4)).toBe(true);
    const listed = (await t.call('GET', '/v1/keys/devices/cc_target')).body.data.devices;
    expect(listed.map((device: { oneTimePreKeysRemaining: number }) => device.oneTimePreKeysRemaining)).toEqual([0, 0, 0, 0]);
  }, 120_000);

  it('a revoke racing 100 claims: no error, each claim sees the device live or revoked, consistently with its version', async () => {
    for (const deviceId of ['phone', 'laptop']) {
      expect((await t.call('POST', '/v1/keys/register', registration('cc_race', 100, { deviceId }).body)).status).toBe(201);
    }
    const claims = Array.from({ length: 100 }, () => t.call('GET', '/v1/keys/bundles/cc_race'));
    const revoke = t.call('POST', '/v1/keys/revoke', { userId: 'cc_race', deviceId: 'laptop', reason: 'stolen' });
    const register = t.call('POST', '/v1/keys/register', registration('cc_race', 5, { deviceId: 'tablet' }).body);
    const [revoked, registered, ...answers] = (await Promise.all([revoke, register, ...claims])) as [Claim, Claim, ...Claim[]];
    expect(revoked.status).toBe(200);
    expect(registered.status).toBe(201);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    for (const { body } of answers) {
      const served = body.data.devices.map((bundle) => bundle.deviceId);
      const version = body.data.deviceListVersion;
      // versions 2 (both registered), then the revoke and the tablet in either order
      expect(version).toBeGreaterThanOrEqual(2);
      expect(version).toBeLessThanOrEqual(4);
      if (version === 2) expect(served).toEqual(['laptop', 'phone']);
      if (version === 4) {
        expect(served).toEqual(['phone', 'tablet']);
        expect(body.data.failures).toEqual({ laptop: expect.objectContaining({ errorCode: 'KEYS_REVOKED' }) });
      }
      expect(served).toContain('phone');
    }
    const laptopKeys = answers.flatMap(({ body }) => body.data.devices.filter((bundle) => bundle.deviceId === 'laptop' && bundle.oneTimePreKey));
    expect(new Set(laptopKeys.map((bundle) => bundle.oneTimePreKey!.keyId)).size).toBe(laptopKeys.length);
    expect((await t.call('GET', '/v1/keys/devices/cc_race')).body.data.deviceListVersion).toBe(4);
  });
});
