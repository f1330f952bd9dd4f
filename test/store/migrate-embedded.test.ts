/**
 * `prekeyd migrate`'s copy (importEmbedded): an embedded deployment with data in every table is
 * copied into PostgreSQL (PGlite here; the CLI round trip on a real server is in
 * test/postgres/multi-instance.test.ts), verified, and a server on the copy carries on where the
 * embedded one stopped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBody } from '../helpers/backup-body.ts';
import { createPgliteDriver } from '../../src/store/postgres/pglite-driver.ts';
import { verifyProjectAuditChain } from '../../src/cli/migrate.ts';
import { importEmbedded } from '../../src/store/postgres/import-embedded.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqlJsStore } from '../../src/store/sqljs/sqljs-store.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp } from '../helpers/app.ts';
import { freshSchemaName, sharedPGlite } from '../helpers/backend.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';

let dir: string;
let dbPath: string;
let token: string;
const handedOut: string[] = [];
let lastEventId = '0';
let backup: ReturnType<typeof backupBody>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prekeyd-migrate-test-'));
  dbPath = join(dir, 'prekeyd.db');
  const t = await createTestApp({ store: await openSqlJsStore({ path: dbPath }) });
  ({ token } = await insertApiKey(t.store, { acl: ['*'] }));
  const alice = registration('mig_alice', 8);
  expect((await t.call('POST', '/v1/keys/register', alice.body)).status).toBe(201);
  await t.call('POST', '/v1/keys/register', registration('mig_bob', 2).body, { headers: { 'x-project-id': 'other' } });
  for (let i = 0; i < 5; i++) handedOut.push((await t.call('GET', '/v1/keys/bundle/mig_alice', undefined, { token })).body.data.oneTimePreKey.keyId);
  expect((await t.call('POST', '/v1/keys/rotate', { userId: 'mig_alice', newSignedPreKey: makeSignedPreKey(alice.identity) })).status).toBe(200);
  const blob = randomBytes(64);
  backup = backupBody('mig_alice', blob);
  expect((await t.call('POST', '/v1/keys/backup', backup)).status).toBeLessThan(300);
  await t.call('GET', '/v1/keys/bundle/mig_bob', undefined, { headers: { 'x-project-id': 'other' } });
  await t.call('GET', '/v1/keys/bundle/nobody'); // a FAILURE audit entry
  lastEventId = await t.store.transaction((tx) => tx.events.latestId('default'));
  expect(Number(lastEventId)).toBeGreaterThan(0);
  await t.store.close();
  await t.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('importEmbedded into PostgreSQL (PGlite)', () => {
  it('copies every table, verifies counts and audit chains, and the copy serves on', async () => {
    const db = await sharedPGlite();
    const schema = freshSchemaName();
    const driver = () => createPgliteDriver(db, schema);
    await driver().query(`CREATE SCHEMA "${schema}"`);
    const lines: string[] = [];
    const figures: Array<{ rows: number; totalRows: number; bytes: number }> = [];
    const report = await importEmbedded({
      from: dbPath,
      to: driver(),
      verifyAuditChain: verifyProjectAuditChain,
      progress: (line) => lines.push(line),
      onRows: (figure) => figures.push(figure),
    });
    expect(report.ok).toBe(true);
    const count = (table: string) => report.tables.find((row) => row.table === table);
    for (const table of ['key_sets', 'signed_pre_key_history', 'one_time_pre_keys', 'audit_log', 'events', 'api_keys', 'backups']) {
      expect(count(table)!.source, table).toBeGreaterThan(0);
      expect(count(table)!.target, table).toBe(count(table)!.source);
    }
    expect(report.audit.map((entry) => entry.projectId)).toEqual(['default', 'other']);
    for (const { source, target } of report.audit) {
      expect(target).toEqual(source);
      expect(target.valid).toBe(true);
    }
    expect(lines.some((line) => /copied \d+ rows of audit_log/.test(line))).toBe(true);
    // Progress for `prekeyd migrate`: rows grow to the source's total, with their bytes.
    const copiedRows = report.tables.reduce((sum, row) => sum + row.source, 0);
    expect(figures.at(-1)).toMatchObject({ rows: copiedRows, totalRows: copiedRows });
    expect(figures.at(-1)!.bytes).toBeGreaterThan(1000);
    expect(figures.map((figure) => figure.rows)).toEqual([...figures.map((figure) => figure.rows)].sort((a, b) => a - b));

    // A second run refuses the now non-empty target, unless forced.
    await expect(importEmbedded({ from: dbPath, to: driver(), verifyAuditChain: verifyProjectAuditChain })).rejects.toThrow(/--force/);
    const forced = await importEmbedded({ from: dbPath, to: driver(), verifyAuditChain: verifyProjectAuditChain, force: true });
    expect(forced.ok).toBe(true);
    expect(forced.tables).toEqual(report.tables);

    const t = await createTestApp({ store: await openPostgresStore(driver()) });
    try {
      const chain = (await t.call('GET', '/v1/keys/audit/verify')).body.data;
      expect(chain).toMatchObject({ valid: true, entries: report.audit[0]!.source.entries, headHash: report.audit[0]!.source.headHash });
      // The API key still authenticates; the next bundle gets a key never handed out before.
      const bundle = await t.call('GET', '/v1/keys/bundle/mig_alice', undefined, { token });
      expect(bundle.status).toBe(200);
      expect(handedOut).not.toContain(bundle.body.data.oneTimePreKey.keyId);
      expect(bundle.body.data.remainingOneTimePreKeys).toBe(2);
      // New audit entries chain onto the copied ones; new events continue after the old ids.
      expect((await t.call('GET', '/v1/keys/audit/verify')).body.data).toMatchObject({ valid: true, entries: report.audit[0]!.source.entries + 2 });
      const events = await t.store.transaction((tx) => tx.events.listAfter('default', ['mig_alice'], lastEventId, 10));
      expect(events.map((event) => event.event)).toEqual(['prekeys.low']);
      expect(BigInt(events[0]!.id)).toBeGreaterThan(BigInt(lastEventId));
      // The backup blob, kept in a file beside the embedded database, is in the table now.
      expect((await t.call('POST', '/v1/keys/recover', { userId: 'mig_alice' })).body.data).toMatchObject({
        encryptedBundle: backup.encryptedBundle,
        version: 1,
      });
      const registered = await t.call('POST', '/v1/keys/register', registration('mig_carol', 1).body);
      expect(registered.status).toBe(201);
    } finally {
      await t.store.close();
      await t.close();
      await driver().query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });
});
