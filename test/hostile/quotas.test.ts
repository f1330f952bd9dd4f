/**
 * Attack: a key holder makes the server store without bound — device after device for one user,
 * public key after public key for one owner, signed pre-key rotations forever, backup versions
 * until the disk is full. Each is capped (403 QUOTA_EXCEEDED, nothing written) or pruned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { backupBody } from '../helpers/backup-body.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';
import { SignalDevice } from '../signal/libsignal-device.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    settings: { maxDevicesPerUser: 3, maxPublicKeysPerOwner: 2, signedPreKeyHistoryKept: 2, backupVersionsKept: 2, maxProjectBytes: 3000 },
  });
});
afterAll(() => t.close());

const quotaRefusal = (res: { status: number; body: any }) => ({ status: res.status, errorCode: res.body.errorCode });
const refused = { status: 403, errorCode: 'QUOTA_EXCEEDED' };

describe('quotas', () => {
  it('devices per user, on /v1 and /v2', async () => {
    const { body } = registration('many_devices');
    for (const deviceId of ['d1', 'd2', 'd3']) {
      expect((await t.call('POST', '/v1/keys/register', { ...registration('many_devices').body, deviceId })).status).toBe(201);
    }
    expect(quotaRefusal(await t.call('POST', '/v1/keys/register', { ...body, deviceId: 'd4' }))).toEqual(refused);
    const keySets = await t.store.transaction((tx) => tx.keySets.listForUser('default', 'many_devices'));
    expect(keySets.map((keySet) => keySet.deviceId).sort()).toEqual(['d1', 'd2', 'd3']);
    // A revoked device frees its place.
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'many_devices', deviceId: 'd1' })).status).toBe(200);
    expect((await t.call('POST', '/v1/keys/register', { ...body, deviceId: 'd4' })).status).toBe(201);

    const first = new SignalDevice('signal_many', 1);
    const basic = (deviceId: number) => ({ token: null, headers: { authorization: `Basic ${btoa(`signal_many.${deviceId}:${masterKey}`)}` } });
    for (let deviceId = 1; deviceId <= 3; deviceId++) {
      const device = deviceId === 1 ? first : new SignalDevice('signal_many', deviceId, first.identity);
      expect((await t.call('PUT', '/v2/keys', device.upload({ identityKey: deviceId === 1 }), basic(deviceId))).status).toBe(204);
    }
    const fourth = new SignalDevice('signal_many', 4, first.identity);
    expect(quotaRefusal(await t.call('PUT', '/v2/keys', fourth.upload({ identityKey: false }), basic(4)))).toEqual(refused);
  });

  it('holds the caps under concurrent creates (on PostgreSQL several connections race)', async () => {
    const { body } = registration('racing_devices');
    const registers = await Promise.all(Array.from({ length: 12 }, (_, index) => t.call('POST', '/v1/keys/register', { ...body, deviceId: `r${index}` })));
    expect(registers.filter((res) => res.status === 201)).toHaveLength(3);
    for (const res of registers.filter((candidate) => candidate.status !== 201)) expect(quotaRefusal(res)).toEqual(refused);
    const live = await t.store.transaction((tx) => tx.keySets.listForUser('default', 'racing_devices'));
    expect(live).toHaveLength(3);

    const key = (name: string) => ({ ownerId: 'pk_racing', name, keyType: 'ed25519', publicKey: registration('x').body.identityKey });
    const imports = await Promise.all(Array.from({ length: 8 }, (_, index) => t.call('POST', '/v1/public-keys', key(`k${index}`))));
    expect(imports.filter((res) => res.status === 201)).toHaveLength(2);
    expect((await t.call('GET', '/v1/public-keys?ownerId=pk_racing')).body.pagination.total).toBe(2);
  });

  it('public keys per owner', async () => {
    const key = (name: string) => ({ ownerId: 'pk_owner', name, keyType: 'ed25519', publicKey: registration('x').body.identityKey });
    expect((await t.call('POST', '/v1/public-keys', key('one'))).status).toBe(201);
    expect((await t.call('POST', '/v1/public-keys', key('two'))).status).toBe(201);
    expect(quotaRefusal(await t.call('POST', '/v1/public-keys', key('three')))).toEqual(refused);
    expect((await t.call('GET', '/v1/public-keys?ownerId=pk_owner')).body.pagination.total).toBe(2);
  });

  it('signed pre-key history keeps the newest and those a live session names', async () => {
    const { identity, body } = registration('rotating', 5);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const initiator = registration('rotating_peer', 1);
    expect((await t.call('POST', '/v1/keys/register', initiator.body)).status).toBe(201);
    const session = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'rotating_peer',
      responderUserId: 'rotating',
      initiatorEphemeralKey: initiator.body.signedPreKey.publicKey,
    });
    expect(session.status).toBe(200);
    for (let i = 0; i < 8; i++) {
      expect((await t.call('POST', '/v1/keys/rotate', { userId: 'rotating', newSignedPreKey: makeSignedPreKey(identity) })).status).toBe(200);
    }
    const [keySet] = await t.store.transaction((tx) => tx.keySets.listForUser('default', 'rotating'));
    const history = await t.store.transaction((tx) => tx.keySets.signedPreKeyHistory(keySet!.id));
    expect(history.map((old) => old.keyId)).toContain(body.signedPreKey.keyId); // the session's key
    expect(history).toHaveLength(3);
  });

  it('backup versions kept per user, and stored bytes per project', async () => {
    const blob = (fill: number) => new Uint8Array(1000).fill(fill);
    for (let i = 1; i <= 5; i++) expect((await t.call('POST', '/v1/keys/backup', backupBody('bk_a', blob(i)))).status).toBe(200);
    const recover = (userId: string, version?: number) => t.call('POST', '/v1/keys/recover', { userId, ...(version && { version }) });
    await expectError(await recover('bk_a', 3), 404, 'NOT_FOUND');
    expect((await recover('bk_a', 4)).status).toBe(200);
    expect((await recover('bk_a')).body.data.version).toBe(5);

    expect((await t.call('POST', '/v1/keys/backup', backupBody('bk_b', blob(7)))).status).toBe(200); // 3000 bytes stored
    expect(quotaRefusal(await t.call('POST', '/v1/keys/backup', backupBody('bk_b', blob(8))))).toEqual(refused);
    expect((await recover('bk_b')).body.data).toMatchObject({ version: 1, encryptedBundle: backupBody('bk_b', blob(7)).encryptedBundle });
    // Replacing a version within the retention frees as much as it takes.
    expect((await t.call('POST', '/v1/keys/backup', backupBody('bk_a', blob(9)))).status).toBe(200);
  });
});
