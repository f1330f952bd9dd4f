import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBody } from '../helpers/backup-body.ts';
import { auditActions } from '../../src/domain/audit.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { alterStoredData } from '../helpers/backend.ts';
import { makePreKeys, makeSignedPreKey, registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

function fakeClock(start: string) {
  let now = Date.parse(start);
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const hourMs = 3600 * 1000;
const clock = fakeClock('2026-03-08T10:00:00.000Z');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(() => t.close());

async function newestId(app: TestApp = t): Promise<number> {
  return (await app.call('GET', '/v1/keys/audit?limit=1')).body.data[0]?.id ?? 0;
}

/** The audit entries an operation wrote (the operation must answer `status`). */
async function entriesOf(operation: () => Promise<{ status: number }>, status = 200) {
  const before = await newestId();
  expect((await operation()).status).toBe(status);
  const page = await t.call('GET', '/v1/keys/audit?limit=100');
  return (page.body.data as any[]).filter((entry) => entry.id > before);
}

const actionsOf = async (operation: () => Promise<{ status: number }>, status?: number) =>
  (await entriesOf(operation, status)).map((entry) => `${entry.action}:${entry.status}`).sort();

describe('GET /v1/keys/audit: the actions of the seed', () => {
  it('records each action right after the operation that causes it', async () => {
    const alice = registration('au_alice', 3);
    const bob = registration('au_bob', 3);
    expect(await actionsOf(() => t.call('POST', '/v1/keys/register', alice.body), 201)).toEqual(['KEYS_REGISTERED:SUCCESS']);
    await t.call('POST', '/v1/keys/register', bob.body);

    const rotate = { userId: 'au_alice', newSignedPreKey: makeSignedPreKey(alice.identity) };
    expect(await actionsOf(() => t.call('POST', '/v1/keys/rotate', rotate))).toEqual(['KEYS_ROTATED:SUCCESS']);
    const replenish = { userId: 'au_alice', newOneTimePreKeys: makePreKeys(2) };
    expect(await actionsOf(() => t.call('POST', '/v1/keys/rotate', replenish))).toEqual(['PREKEYS_REPLENISHED:SUCCESS']);

    expect(await actionsOf(() => t.call('GET', '/v1/keys/bundle/au_alice'))).toEqual(['BUNDLE_FETCHED:SUCCESS', 'PREKEY_CONSUMED:SUCCESS']);
    expect(await actionsOf(() => t.call('GET', '/v1/keys/verify/au_alice'))).toEqual(['KEY_VERIFIED:SUCCESS']);

    expect(await actionsOf(() => t.call('POST', '/v1/keys/backup', backupBody('au_alice', randomBytes(48))))).toEqual(['BACKUP_CREATED:SUCCESS']);
    expect(await actionsOf(() => t.call('POST', '/v1/keys/backup', backupBody('au_alice', randomBytes(48))))).toEqual(['BACKUP_UPDATED:SUCCESS']);
    expect(await actionsOf(() => t.call('POST', '/v1/keys/recover', { userId: 'au_alice' }))).toEqual(['BACKUP_RECOVERED:SUCCESS']);

    let sessionId = '';
    const initiate = async () => {
      const body = { initiatorUserId: 'au_alice', responderUserId: 'au_bob', initiatorEphemeralKey: bytesToHex(x25519.keygen().publicKey) };
      const res = await t.call('POST', '/v1/keys/shared-secret', body);
      sessionId = res.body.data.sessionId;
      return res;
    };
    expect(await actionsOf(initiate)).toEqual(['PREKEY_CONSUMED:SUCCESS', 'SHARED_SECRET_INITIATED:SUCCESS']);
    expect(await actionsOf(() => t.call('POST', `/v1/keys/shared-secret/${sessionId}/complete`))).toEqual(['SHARED_SECRET_COMPLETED:SUCCESS']);

    expect(await actionsOf(() => t.call('POST', '/v1/keys/revoke', { userId: 'au_bob', reason: 'Device compromised' }))).toEqual(['KEYS_REVOKED:SUCCESS']);
  });

  it('records failures with status FAILURE and the error code', async () => {
    const rotateUnknown = await entriesOf(() => t.call('POST', '/v1/keys/rotate', { userId: 'au_ghost', newOneTimePreKeys: makePreKeys(1) }), 404);
    expect(rotateUnknown).toEqual([
      expect.objectContaining({ action: 'KEYS_ROTATED', userId: 'au_ghost', status: 'FAILURE', details: expect.objectContaining({ errorCode: 'NOT_FOUND' }) }),
    ]);
    const revokedBundle = await entriesOf(() => t.call('GET', '/v1/keys/bundle/au_bob'), 410);
    expect(revokedBundle).toEqual([
      expect.objectContaining({ action: 'BUNDLE_FETCHED', status: 'FAILURE', details: expect.objectContaining({ errorCode: 'KEYS_REVOKED' }) }),
    ]);
    const duplicate = await entriesOf(() => t.call('POST', '/v1/keys/register', registration('au_alice', 1).body), 409);
    expect(duplicate.map((entry) => `${entry.action}:${entry.status}`)).toEqual(['KEYS_REGISTERED:FAILURE']);
  });

  it('gives entries the seed fields plus id, actor and the hash chain, newest first', async () => {
    const res = await t.call('GET', '/v1/keys/audit?userId=au_alice&action=KEYS_ROTATED');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toEqual({
      id: expect.any(Number),
      action: 'KEYS_ROTATED',
      resource: 'USER_KEY',
      userId: 'au_alice',
      details: expect.objectContaining({ newSignedPreKeyId: expect.any(String), oneTimePreKeysAdded: 0 }),
      ipAddress: '127.0.0.1',
      actor: 'master',
      status: 'SUCCESS',
      createdAt: clock.now().toISOString(),
      prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const all = (await t.call('GET', '/v1/keys/audit?limit=100')).body.data as any[];
    for (let i = 1; i < all.length; i++) {
      expect(all[i].id).toBeLessThan(all[i - 1].id);
      expect(all[i - 1].prevHash).toBe(all[i].hash);
    }
  });

  it('lists only the actions it knows and rejects others with 400', async () => {
    expect(auditActions).toEqual(expect.arrayContaining(['KEYS_REGISTERED', 'PREKEYS_REPLENISHED', 'SHARED_SECRET_COMPLETED']));
    const res = await t.call('GET', '/v1/keys/audit?action=KEYS_DELETED');
    await expectError(res, 400, 'VALIDATION_ERROR');
    expect(res.body.details[0].field).toBe('action');
  });
});

describe('GET /v1/keys/audit: filters and pagination', () => {
  it('filters by userId and by action', async () => {
    await t.call('POST', '/v1/keys/register', registration('au_filter', 2).body);
    await t.call('GET', '/v1/keys/verify/au_filter');
    await t.call('GET', '/v1/keys/verify/au_filter');
    const byUser = (await t.call('GET', '/v1/keys/audit?userId=au_filter')).body;
    expect(byUser.data.map((entry: any) => entry.action)).toEqual(['KEY_VERIFIED', 'KEY_VERIFIED', 'KEYS_REGISTERED']);
    expect(byUser.pagination.total).toBe(3);
    const byBoth = (await t.call('GET', '/v1/keys/audit?userId=au_filter&action=KEY_VERIFIED')).body;
    expect(byBoth.data).toHaveLength(2);
    const byAction = (await t.call('GET', '/v1/keys/audit?action=BACKUP_RECOVERED')).body.data as any[];
    expect(byAction.length).toBeGreaterThan(0);
    expect(byAction.every((entry) => entry.action === 'BACKUP_RECOVERED')).toBe(true);
  });

  it('filters by startDate and endDate, instants or whole days', async () => {
    clock.advance(24 * hourMs);
    const day1 = clock.now();
    await t.call('POST', '/v1/keys/register', registration('au_dates', 2).body);
    clock.advance(hourMs);
    const day1Later = clock.now();
    await t.call('GET', '/v1/keys/verify/au_dates');
    clock.advance(24 * hourMs);
    await t.call('GET', '/v1/keys/bundle/au_dates');
    const query = (params: string) => t.call('GET', `/v1/keys/audit?userId=au_dates&${params}`);
    const actions = async (params: string) => (await query(params)).body.data.map((entry: any) => entry.action);

    expect(await actions(`startDate=${day1Later.toISOString()}`)).toEqual(['BUNDLE_FETCHED', 'PREKEY_CONSUMED', 'KEY_VERIFIED']);
    expect(await actions(`startDate=${day1.toISOString()}&endDate=${day1.toISOString()}`)).toEqual(['KEYS_REGISTERED']);
    const dayOnly = day1.toISOString().slice(0, 10);
    expect(await actions(`startDate=${dayOnly}&endDate=${dayOnly}`)).toEqual(['KEY_VERIFIED', 'KEYS_REGISTERED']);
    expect(await actions(`endDate=${encodeURIComponent(new Date(day1.getTime() + 30 * 60_000).toISOString().replace('Z', '+00:00'))}`)).toEqual([
      'KEYS_REGISTERED',
    ]);

    for (const bad of ['startDate=yesterday', 'endDate=2026-02-30', `startDate=${day1Later.toISOString()}&endDate=${day1.toISOString()}`]) {
      const res = await query(bad);
      expect(res.status).toBe(400);
      expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    }
  });

  it('pages newest first with the seed pagination object', async () => {
    await t.call('POST', '/v1/keys/register', registration('au_pages', 2).body);
    for (let i = 0; i < 6; i++) await t.call('GET', '/v1/keys/verify/au_pages');
    const page = async (n: number) => (await t.call('GET', `/v1/keys/audit?userId=au_pages&limit=3&page=${n}`)).body;
    const [one, two, three, four] = [await page(1), await page(2), await page(3), await page(4)];
    expect(one.pagination).toEqual({ page: 1, limit: 3, total: 7, totalPages: 3, hasNextPage: true, hasPrevPage: false });
    expect(two.pagination).toMatchObject({ page: 2, hasNextPage: true, hasPrevPage: true });
    expect(three.pagination).toMatchObject({ page: 3, hasNextPage: false });
    expect([one.data.length, two.data.length, three.data.length, four.data.length]).toEqual([3, 3, 1, 0]);
    const ids = [...one.data, ...two.data, ...three.data].map((entry: any) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(7);
    expect(three.data[0].action).toBe('KEYS_REGISTERED');
  });

  it('defaults to page 1 and 50 entries, allows at most 100', async () => {
    const res = await t.call('GET', '/v1/keys/audit');
    expect(res.body.pagination).toMatchObject({ page: 1, limit: 50 });
    expect(res.body.data.length).toBe(Math.min(50, res.body.pagination.total));
    for (const bad of ['limit=101', 'limit=0', 'page=0', 'page=x']) {
      await expectError(await t.call('GET', `/v1/keys/audit?${bad}`), 400, 'VALIDATION_ERROR');
    }
  });
});

describe('audit caller, IP and access', () => {
  it('records the API key as the actor and the socket IP, ignoring X-Forwarded-For by default', async () => {
    const { token, uid } = await insertApiKey(t.store, { acl: ['keys.register'] });
    const headers = { 'x-forwarded-for': '203.0.113.42' };
    await t.call('POST', '/v1/keys/register', registration('au_ip', 1).body, { token, headers });
    const [entry] = (await t.call('GET', '/v1/keys/audit?userId=au_ip')).body.data;
    expect(entry).toMatchObject({ action: 'KEYS_REGISTERED', actor: uid, ipAddress: '127.0.0.1' });
  });

  it('takes the right-most X-Forwarded-For entry not from a trusted proxy', async () => {
    const proxied = await createTestApp({ http: { trustProxy: ['10.0.0.0/8', 'loopback'] } });
    try {
      const headers = { 'x-forwarded-for': '203.0.113.42, 10.0.0.1' };
      await proxied.call('POST', '/v1/keys/register', registration('au_proxy', 1).body, { headers });
      const [entry] = (await proxied.call('GET', '/v1/keys/audit')).body.data;
      expect(entry.ipAddress).toBe('203.0.113.42');
    } finally {
      await proxied.close();
    }
  });

  it('needs audit.read, and shows only the caller project', async () => {
    const { token: noRead } = await insertApiKey(t.store, { acl: ['keys.read'] });
    await expectError(await t.call('GET', '/v1/keys/audit', undefined, { token: noRead }), 403, 'FORBIDDEN');
    await expectError(await t.call('GET', '/v1/keys/audit/verify', undefined, { token: noRead }), 403, 'FORBIDDEN');
    await expectError(await t.call('GET', '/v1/keys/audit', undefined, { token: null }), 401, 'UNAUTHORIZED');

    const { token: other } = await insertApiKey(t.store, { projectId: 'audit_other', acl: ['*'] });
    await t.call('POST', '/v1/keys/register', registration('au_elsewhere', 1).body, { token: other });
    const seen = (await t.call('GET', '/v1/keys/audit?limit=100', undefined, { token: other })).body;
    expect(seen.pagination.total).toBe(1);
    expect(seen.data[0].userId).toBe('au_elsewhere');
    expect(seen.data[0].prevHash).toBe('0'.repeat(64));
    expect((await t.call('GET', '/v1/keys/audit?userId=au_elsewhere')).body.data).toEqual([]);
    const chain = (await t.call('GET', '/v1/keys/audit/verify', undefined, { token: other })).body.data;
    expect(chain).toEqual({ valid: true, entries: 1, headHash: seen.data[0].hash });
  });
});

describe('GET /v1/keys/audit/verify', () => {
  it('reports an intact chain with its length and head', async () => {
    const res = await t.call('GET', '/v1/keys/audit/verify');
    expect(res.status).toBe(200);
    const newest = (await t.call('GET', '/v1/keys/audit?limit=1')).body;
    expect(res.body).toEqual({ success: true, data: { valid: true, entries: newest.pagination.total, headHash: newest.data[0].hash } });
  });

  it('detects an entry altered directly in the database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prekeyd-audit-tamper-'));
    const dbPath = join(dir, 'prekeyd.db');
    try {
      const before = await createTestApp({ dbPath });
      await before.call('POST', '/v1/keys/register', registration('tamper_user', 3).body);
      await before.call('GET', '/v1/keys/bundle/tamper_user');
      await before.call('GET', '/v1/keys/verify/tamper_user');
      const target = (await before.call('GET', '/v1/keys/audit?action=BUNDLE_FETCHED')).body.data[0];
      expect((await before.call('GET', '/v1/keys/audit/verify')).body.data).toMatchObject({ valid: true, entries: 4 });
      await before.close(); // a graceful close folds the journal into the file

      expect(await alterStoredData(dbPath, 'UPDATE audit_log SET ip_address = ? WHERE id = ?', ['198.51.100.7', target.id])).toBe(1);

      const after = await createTestApp({ dbPath });
      try {
        const altered = (await after.call('GET', `/v1/keys/audit?action=BUNDLE_FETCHED`)).body.data[0];
        expect(altered.ipAddress).toBe('198.51.100.7'); // the edit is really in the data read back
        const report = await after.call('GET', '/v1/keys/audit/verify');
        expect(report.status).toBe(200);
        expect(report.body.data).toMatchObject({ valid: false, brokenAt: target.id });
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('detects a deleted entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prekeyd-audit-delete-'));
    const dbPath = join(dir, 'prekeyd.db');
    try {
      const before = await createTestApp({ dbPath });
      await before.call('POST', '/v1/keys/register', registration('delete_user', 3).body);
      await before.call('GET', '/v1/keys/verify/delete_user');
      await before.call('GET', '/v1/keys/verify/delete_user');
      await before.close();
      expect(await alterStoredData(dbPath, 'DELETE FROM audit_log WHERE id = (SELECT MIN(id) + 1 FROM audit_log)')).toBe(1);
      const after = await createTestApp({ dbPath });
      try {
        expect((await after.call('GET', '/v1/keys/audit/verify')).body.data.valid).toBe(false);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
