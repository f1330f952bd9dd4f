/**
 * Fault injection: the disk fails mid-flight (ENOSPC on the journal write or fsync). Writes
 * answer 503 UNAVAILABLE, nothing half-done is visible, and the server recovers by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlJsStore } from '../../src/store/sqljs/sqljs-store.ts';
import type { Store } from '../../src/store/types.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makePreKeys, registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

const diskFull = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });

describe('a failing disk', () => {
  let dir: string;
  let store: Store;
  let t: TestApp;
  let failing: 'write' | 'fsync' | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prekeyd-faults-'));
    store = await openSqlJsStore({
      path: join(dir, 'prekeyd.db'),
      faults: { beforeWrite: (kind) => (kind === failing ? diskFull() : undefined) },
    });
    t = await createTestApp({ store, settings: { drainLimitPerMinute: 0 } });
  });
  afterAll(async () => {
    await t.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['write', 'fsync'] as const)('answers 503 when the journal %s fails, loses nothing acknowledged, and recovers', async (kind) => {
    const userId = `fault_${kind}`;
    const { body } = registration(userId, 5);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const first = await t.call('GET', `/v1/keys/bundle/${userId}`);
    expect(first.body.data.oneTimePreKey.keyId).toBe(body.oneTimePreKeys[0]!.keyId);

    failing = kind;
    const failedFetch = await t.call('GET', `/v1/keys/bundle/${userId}`);
    expect(failedFetch.status).toBe(503);
    expect(failedFetch.body).toMatchObject({ success: false, errorCode: 'UNAVAILABLE' });
    const failedRotate = await t.call('POST', '/v1/keys/rotate', { userId, newOneTimePreKeys: makePreKeys(3) });
    expect(failedRotate.status).toBe(503);
    const failedRegister = await t.call('POST', '/v1/keys/register', registration(`${userId}_new`, 1).body);
    expect(failedRegister.status).toBe(503);
    expect((await t.call('GET', '/healthz')).status).toBe(200);

    failing = undefined;
    // The failed fetch handed out nothing: the next fetch gets the second key, and the count is exact.
    const next = await t.call('GET', `/v1/keys/bundle/${userId}`);
    expect(next.status).toBe(200);
    expect(next.body.data.oneTimePreKey.keyId).toBe(body.oneTimePreKeys[1]!.keyId);
    expect(next.body.data.remainingOneTimePreKeys).toBe(3);
    await expectError(await t.call('GET', `/v1/keys/verify/${userId}_new`), 404, 'NOT_FOUND');
    expect((await t.call('POST', '/v1/keys/register', registration(`${userId}_new`, 1).body)).status).toBe(201);

    const chain = await t.call('GET', '/v1/keys/audit/verify');
    expect(chain.body.data.valid).toBe(true);
  });

  it('keeps the database consistent across a restart after failures', async () => {
    failing = 'write';
    await t.call('POST', '/v1/keys/rotate', { userId: 'fault_write', newOneTimePreKeys: makePreKeys(2) });
    failing = undefined;
    await t.close();
    await store.close();
    store = await openSqlJsStore({ path: join(dir, 'prekeyd.db') });
    t = await createTestApp({ store });
    const verify = await t.call('GET', '/v1/keys/verify/fault_write');
    expect(verify.body.data.oneTimePreKeysRemaining).toBe(3);
    expect((await t.call('GET', '/v1/keys/verify/fault_write_new')).status).toBe(200);
  });
});
