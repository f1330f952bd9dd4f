/**
 * The embedded store keeps one-time pre-keys in memory, the journal their only write (issue 17):
 * what a bundle fetch hands out, a rollback gives back, a restart and a snapshot hold, and the
 * files stay a plain SQLite database with the keys in `one_time_pre_keys`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSqlJs } from '../../src/store/sqljs/load-sqljs.ts';
import { openSqlJsStore } from '../../src/store/sqljs/sqljs-store.ts';
import type { Store } from '../../src/store/types.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makePreKeys, registration } from '../helpers/keys.ts';

let dir: string;
let path: string;
let store: Store;
let t: TestApp;

async function start(): Promise<void> {
  store = await openSqlJsStore({ path });
  t = await createTestApp({ store, settings: { drainLimitPerMinute: 0 } });
}

async function stop(): Promise<void> {
  await t.close();
  await store.close();
}

/** The key ids stored for the user in a database file, oldest first. */
async function keyIdsInFile(file: string, userId: string, kind = 'ec'): Promise<string[]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(readFileSync(file));
  try {
    const result = db.exec(`SELECT k.key_id FROM one_time_pre_keys k JOIN key_sets s ON s.id = k.key_set_id WHERE s.user_id = ? AND k.kind = ? ORDER BY k.id`, [
      userId,
      kind,
    ]);
    return (result[0]?.values ?? []).map((row) => String(row[0]));
  } finally {
    db.close();
  }
}

async function keySetIdOf(userId: string): Promise<number> {
  const [keySet] = await store.transaction((tx) => tx.keySets.listForUser('default', userId));
  return keySet!.id;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prekeyd-hot-'));
  path = join(dir, 'prekeyd.db');
  await start();
});
afterAll(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('one-time pre-keys held in memory', () => {
  it('hands them out oldest first, and the files hold exactly those not handed out, across a restart', async () => {
    const { body } = registration('hot_a', 6);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const rotated = makePreKeys(2);
    expect((await t.call('POST', '/v1/keys/rotate', { userId: 'hot_a', newOneTimePreKeys: rotated })).status).toBe(200);
    const stored = [...body.oneTimePreKeys, ...rotated].map((key) => key.keyId);
    for (const keyId of stored.slice(0, 3)) {
      expect((await t.call('GET', '/v1/keys/bundle/hot_a')).body.data.oneTimePreKey.keyId).toBe(keyId);
    }
    await stop(); // the checkpoint on close is built from the snapshot and the journal
    expect(await keyIdsInFile(path, 'hot_a')).toEqual(stored.slice(3));
    await start();
    const next = await t.call('GET', '/v1/keys/bundle/hot_a');
    expect(next.body.data.oneTimePreKey.keyId).toBe(stored[3]);
    expect(next.body.data.remainingOneTimePreKeys).toBe(4);
  });

  it('gives back what a transaction that fails took or added', async () => {
    const { body } = registration('hot_b', 3);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const keySetId = await keySetIdOf('hot_b');
    const failing = store.transaction(async (tx) => {
      expect((await tx.oneTimePreKeys.takeOldest(keySetId, 'ec'))?.keyId).toBe(body.oneTimePreKeys[0]!.keyId);
      await tx.oneTimePreKeys.takeOldestOfEach([keySetId], 'ec');
      await tx.oneTimePreKeys.insertMany(keySetId, 'ec', makePreKeys(2), new Date().toISOString());
      await tx.oneTimePreKeys.deleteAll(keySetId, 'ec');
      expect(await tx.oneTimePreKeys.count(keySetId, 'ec')).toBe(0);
      throw new Error('fails after changing the keys');
    });
    await expect(failing).rejects.toThrow('fails after changing the keys');
    const fetched = await t.call('GET', '/v1/keys/bundle/hot_b');
    expect(fetched.body.data.oneTimePreKey.keyId).toBe(body.oneTimePreKeys[0]!.keyId);
    expect(fetched.body.data.remainingOneTimePreKeys).toBe(2);
    await stop();
    expect(await keyIdsInFile(path, 'hot_b')).toEqual(body.oneTimePreKeys.slice(1).map((key) => key.keyId));
    await start();
  });

  it('refuses a key id the key set already holds, changing nothing', async () => {
    const { body } = registration('hot_c', 2);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const keySetId = await keySetIdOf('hot_c');
    const again = [{ keyId: body.oneTimePreKeys[1]!.keyId, publicKey: body.oneTimePreKeys[1]!.publicKey }];
    await expect(store.transaction((tx) => tx.oneTimePreKeys.insertMany(keySetId, 'ec', again, new Date().toISOString()))).rejects.toThrow('UNIQUE');
    const twice = makePreKeys(1);
    await expect(store.transaction((tx) => tx.oneTimePreKeys.insertMany(keySetId, 'ec', [...twice, ...twice], new Date().toISOString()))).rejects.toThrow(
      'UNIQUE',
    );
    expect(
      await store.transaction((tx) => tx.oneTimePreKeys.existingKeyIds(keySetId, 'ec', [...body.oneTimePreKeys.map((key) => key.keyId), twice[0]!.keyId])),
    ).toEqual(body.oneTimePreKeys.map((key) => key.keyId));
    expect((await t.call('GET', '/v1/keys/verify/hot_c')).body.data.oneTimePreKeysRemaining).toBe(2);
  });

  it('puts every key still held into a snapshot, and a revoked key set none', async () => {
    const { body } = registration('hot_d', 4);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    expect((await t.call('GET', '/v1/keys/bundle/hot_d')).status).toBe(200);
    const { body: revokedBody } = registration('hot_e', 3);
    expect((await t.call('POST', '/v1/keys/register', revokedBody)).status).toBe(201);
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'hot_e', reason: 'test' })).status).toBe(200);
    const copy = join(dir, 'copy.db');
    await store.snapshotTo!(copy);
    expect(await keyIdsInFile(copy, 'hot_d')).toEqual(body.oneTimePreKeys.slice(1).map((key) => key.keyId));
    expect(await keyIdsInFile(copy, 'hot_e')).toEqual([]);
    // and the live store goes on after it
    expect((await t.call('GET', '/v1/keys/bundle/hot_d')).body.data.oneTimePreKey.keyId).toBe(body.oneTimePreKeys[1]!.keyId);
  });
});
