/**
 * The SDK's multi-device API against a real spawned server: `client.devices.list`, `getBundles`,
 * `establishSessions` (one session per active device, each accepted by its own device), per-device
 * revoke and suspend, `devices.changed` pushed, and autoReplenish topping up each device on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PrekeydClient, type PrekeydEvent, type PrivateKeys, type WebSocketConstructor } from '../../packages/client/src/index.ts';
import { masterKey } from '../helpers/app.ts';
import { createDbPath, removeDir, seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

let server: ServerProcess;
let dir: string;
let aliceKey: string;
let bobKey: string;

beforeAll(async () => {
  const db = createDbPath();
  dir = db.dir;
  [aliceKey, bobKey] = (await seedApiKeys(db.dbPath, [
    { acl: ['*'], userIds: ['alice*'] },
    { acl: ['*'], userIds: ['bob*'] },
  ])) as [string, string];
  server = await startServerProcess({ dbPath: db.dbPath });
});

afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

const clientFor = (apiKey: string) => new PrekeydClient({ baseURL: server.url, apiKey, WebSocket: WebSocket as unknown as WebSocketConstructor });

async function until<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last value ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('client.devices', () => {
  it('lists devices, starts one session per active device that each device accepts, and revokes or suspends one device', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = alice.keys.generateKeySet(5);
    await alice.keys.registerKeys('alice_md', aliceKeys.registrationPayload);
    const bobDevices: Record<string, PrivateKeys> = {};
    for (const deviceId of ['phone', 'laptop', 'watch']) {
      const generated = bob.keys.generateKeySet(5);
      await bob.keys.registerKeys('bob_md', generated.registrationPayload, { deviceId, deviceName: `Bob ${deviceId}` });
      bobDevices[deviceId] = generated.privateKeys;
    }
    const changes: PrekeydEvent[] = [];
    const subscription = alice.subscribe(['alice_md'], (event) => void (event.event === 'devices.changed' && changes.push(event)));
    await subscription.ready;

    await bob.devices.suspend('bob_md', 'watch', 'lost for now');
    const list = await alice.devices.list('bob_md');
    expect(list.deviceListVersion).toBe(4);
    expect(list.devices.map((device) => [device.deviceId, device.status, device.oneTimePreKeysRemaining])).toEqual([
      ['laptop', 'active', 5],
      ['phone', 'active', 5],
      ['watch', 'suspended', 5],
    ]);

    const { sessions, failures, deviceListVersion } = await alice.devices.establishSessions('alice_md', 'bob_md', aliceKeys.privateKeys);
    expect(deviceListVersion).toBe(4);
    expect(sessions.map((session) => session.responderDeviceId)).toEqual(['laptop', 'phone']);
    expect(failures).toEqual({ watch: expect.objectContaining({ errorCode: 'KEYS_SUSPENDED', status: 'suspended' }) });
    for (const session of sessions) {
      const accepted = await bob.keys.acceptSharedSecret(session.sessionId, bobDevices[session.responderDeviceId]!);
      expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
      expect(accepted.initiatorUserId).toBe('alice_md');
    }

    // Alice now holds sessions with Bob: his device changes reach her own subscription.
    await bob.devices.revoke('bob_md', 'laptop', 'sold');
    await bob.devices.unsuspend('bob_md', 'watch');
    await until(
      () => changes.length,
      (n) => n === 2,
    );
    expect(changes.map((event) => event.data)).toEqual([
      { userId: 'bob_md', deviceListVersion: 5, added: [], removed: ['laptop'], changed: [] },
      { userId: 'bob_md', deviceListVersion: 6, added: [], removed: [], changed: ['watch'] },
    ]);
    subscription.close();

    const after = await alice.devices.list('bob_md');
    expect(after.devices.map((device) => [device.deviceId, device.status])).toEqual([
      ['laptop', 'revoked'],
      ['phone', 'active'],
      ['watch', 'active'],
    ]);
    const bundles = await alice.devices.getBundles('bob_md');
    expect(bundles.devices.map((bundle) => bundle.deviceId)).toEqual(['phone', 'watch']);
    expect(bundles.failures).toEqual({ laptop: expect.objectContaining({ errorCode: 'KEYS_REVOKED' }) });
    const named = await alice.devices.getBundles('bob_md', { deviceIds: ['watch'] });
    expect(named.devices.map((bundle) => bundle.deviceId)).toEqual(['watch']);
  });

  it('autoReplenish tops up each device of the user on its own after a multi-device claim drains them', async () => {
    const bob = clientFor(bobKey);
    const admin = clientFor(masterKey);
    const stores: Record<string, Record<string, string>> = {};
    for (const deviceId of ['tablet', 'desktop']) {
      const generated = bob.keys.generateKeySet(6);
      await bob.keys.registerKeys('bob_refill', generated.registrationPayload, { deviceId });
      stores[deviceId] = { ...generated.privateKeys.oneTimePreKeys };
    }
    const uploads: string[] = [];
    const subscription = bob.subscribe(['bob_refill'], () => undefined, {
      autoReplenish: {
        target: 10,
        deviceIds: ['tablet', 'desktop'],
        store: ({ deviceId, oneTimePreKeys }) => {
          Object.assign(stores[deviceId]!, oneTimePreKeys);
          uploads.push(deviceId);
        },
      },
    });
    await subscription.ready;
    // two claims: 6 → 4 on both devices, below the threshold of 5
    await admin.devices.getBundles('bob_refill');
    await admin.devices.getBundles('bob_refill');
    const remaining = async () => (await admin.devices.list('bob_refill')).devices.map((device) => device.oneTimePreKeysRemaining);
    await until(remaining, (counts) => counts.every((count) => count === 10));
    expect([...uploads].sort()).toEqual(['desktop', 'tablet']);
    expect(Object.keys(stores.tablet!)).toHaveLength(12); // 6 registered + 6 uploaded (the server holds 10 of them)
    subscription.close();
  });
});
