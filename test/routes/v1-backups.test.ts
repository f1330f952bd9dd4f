import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBody, encryptionMetadata } from '../helpers/backup-body.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { expectError } from '../helpers/errors.ts';

const maxBackupBytes = 4096;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ settings: { maxBackupBytes } });
});
afterAll(() => t.close());

async function auditOf(userId: string, action: string) {
  const res = await t.call('GET', `/v1/keys/audit?userId=${userId}&action=${action}`);
  return res.body.data as any[];
}

describe('POST /v1/keys/backup', () => {
  it('stores a first backup as version 1 with the seed shape', async () => {
    const res = await t.call('POST', '/v1/keys/backup', backupBody('bk_first', randomBytes(200)));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      message: 'Backup stored successfully',
      data: { version: 1, storedAt: expect.any(String) },
    });
    expect(Date.parse(res.body.data.storedAt)).not.toBeNaN();
  });

  it('increases the version and audits BACKUP_CREATED then BACKUP_UPDATED, never the blob', async () => {
    const blobs = [randomBytes(64), randomBytes(65), randomBytes(66)];
    const versions = [];
    for (const blob of blobs) versions.push((await t.call('POST', '/v1/keys/backup', backupBody('bk_versions', blob))).body.data.version);
    expect(versions).toEqual([1, 2, 3]);
    const created = await auditOf('bk_versions', 'BACKUP_CREATED');
    const updated = await auditOf('bk_versions', 'BACKUP_UPDATED');
    expect(created.map((entry) => entry.details.version)).toEqual([1]);
    expect(updated.map((entry) => entry.details.version)).toEqual([3, 2]);
    const all = JSON.stringify((await t.call('GET', '/v1/keys/audit?userId=bk_versions')).body.data);
    for (const blob of blobs) expect(all).not.toContain(blob.toString('base64'));
  });

  it('accepts the current version as expectedVersion and refuses a stale one with 409', async () => {
    const first = await t.call('POST', '/v1/keys/backup', backupBody('bk_cas', randomBytes(10), { expectedVersion: 0 }));
    expect(first.body.data.version).toBe(1);
    const second = await t.call('POST', '/v1/keys/backup', backupBody('bk_cas', randomBytes(10), { expectedVersion: 1 }));
    expect(second.body.data.version).toBe(2);
    const stale = await t.call('POST', '/v1/keys/backup', backupBody('bk_cas', randomBytes(10), { expectedVersion: 1 }));
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ success: false, errorCode: 'CONFLICT' });
    const ahead = await t.call('POST', '/v1/keys/backup', backupBody('bk_cas', randomBytes(10), { expectedVersion: 5 }));
    expect(ahead.status).toBe(409);
    // a stale write stored nothing: the latest is still version 2
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_cas' })).body.data.version).toBe(2);
    const failures = (await auditOf('bk_cas', 'BACKUP_UPDATED')).filter((entry) => entry.status === 'FAILURE');
    expect(failures).toHaveLength(2);
    expect(failures[0].details).toMatchObject({ errorCode: 'CONFLICT', expectedVersion: 5 });
  });

  it('refuses expectedVersion other than 0 when no backup exists', async () => {
    const res = await t.call('POST', '/v1/keys/backup', backupBody('bk_none_yet', randomBytes(10), { expectedVersion: 1 }));
    await expectError(res, 409, 'CONFLICT');
  });

  it('refuses a wrong checksum with 400 CHECKSUM_MISMATCH and records the failure', async () => {
    const body = backupBody('bk_checksum', randomBytes(32));
    const res = await t.call('POST', '/v1/keys/backup', { ...body, checksum: createHash('sha256').update('other').digest('hex') });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorCode: 'CHECKSUM_MISMATCH' });
    // the checksum is over the decoded bytes, not over the base64 text
    const overText = createHash('sha256').update(body.encryptedBundle).digest('hex');
    expect((await t.call('POST', '/v1/keys/backup', { ...body, checksum: overText })).body.errorCode).toBe('CHECKSUM_MISMATCH');
    const [failure] = await auditOf('bk_checksum', 'BACKUP_CREATED');
    expect(failure).toMatchObject({ status: 'FAILURE', details: { errorCode: 'CHECKSUM_MISMATCH' } });
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_checksum' })).status).toBe(404);
  });

  it('accepts an upper-case checksum', async () => {
    const body = backupBody('bk_upper', randomBytes(32));
    expect((await t.call('POST', '/v1/keys/backup', { ...body, checksum: body.checksum.toUpperCase() })).status).toBe(200);
  });

  it('refuses a decoded blob over the size cap with 413, and accepts one at the cap', async () => {
    const over = await t.call('POST', '/v1/keys/backup', backupBody('bk_size', randomBytes(maxBackupBytes + 1)));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ success: false, errorCode: 'PAYLOAD_TOO_LARGE' });
    expect((await t.call('POST', '/v1/keys/backup', backupBody('bk_size', randomBytes(maxBackupBytes)))).status).toBe(200);
  });

  it.each([
    ['encryptedBundle not base64', { encryptedBundle: 'not base64!' }, 'encryptedBundle'],
    ['encryptedBundle with a bad length', { encryptedBundle: 'QUJDR' }, 'encryptedBundle'],
    ['empty encryptedBundle', { encryptedBundle: '' }, 'encryptedBundle'],
    ['checksum not 64 hex', { checksum: 'e3b0c442' }, 'checksum'],
    ['nonce not hex', { encryptionMetadata: { ...encryptionMetadata, nonce: 'xyz' } }, 'encryptionMetadata.nonce'],
    ['salt of odd length', { encryptionMetadata: { ...encryptionMetadata, salt: 'abc' } }, 'encryptionMetadata.salt'],
    [
      'argon2 timeCost 0',
      { encryptionMetadata: { ...encryptionMetadata, argon2Params: { timeCost: 0, memoryCost: 1, parallelism: 1 } } },
      'encryptionMetadata.argon2Params.timeCost',
    ],
    ['argon2 params missing', { encryptionMetadata: { ...encryptionMetadata, argon2Params: { timeCost: 3 } } }, 'encryptionMetadata.argon2Params.memoryCost'],
    ['unknown metadata field', { encryptionMetadata: { ...encryptionMetadata, password: 'hunter2' } }, 'encryptionMetadata'],
    ['unknown body field', { extra: 1 }, '(body)'],
    ['negative expectedVersion', { expectedVersion: -1 }, 'expectedVersion'],
    ['bad userId', { userId: 'has space' }, 'userId'],
  ])('rejects %s with VALIDATION_ERROR', async (_name, change, field) => {
    const res = await t.call('POST', '/v1/keys/backup', { ...backupBody('bk_invalid', randomBytes(8)), ...change });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    expect(res.body.details.map((detail: any) => detail.field)).toContain(field);
  });

  it('answers malformed JSON with 400', async () => {
    const res = await t.call('POST', '/v1/keys/backup', '{"userId": ');
    await expectError(res, 400, 'VALIDATION_ERROR');
    expect(res.body.success).toBe(false);
  });
});

describe('POST /v1/keys/recover', () => {
  it('returns the stored blob and metadata byte for byte, the latest or a given version', async () => {
    const blobs = [randomBytes(1000), randomBytes(1001)];
    const bodies = blobs.map((blob) => backupBody('bk_round', blob));
    const stored = [];
    for (const body of bodies) stored.push((await t.call('POST', '/v1/keys/backup', body)).body.data);

    const latest = await t.call('POST', '/v1/keys/recover', { userId: 'bk_round' });
    expect(latest.status).toBe(200);
    expect(latest.body).toEqual({
      success: true,
      data: {
        encryptedBundle: bodies[1]!.encryptedBundle,
        encryptionMetadata,
        checksum: bodies[1]!.checksum,
        version: 2,
        backedUpAt: stored[1].storedAt,
      },
    });
    expect(Buffer.from(latest.body.data.encryptedBundle, 'base64').equals(blobs[1]!)).toBe(true);

    const first = await t.call('POST', '/v1/keys/recover', { userId: 'bk_round', version: 1 });
    expect(first.body.data).toMatchObject({ encryptedBundle: bodies[0]!.encryptedBundle, version: 1, backedUpAt: stored[0].storedAt });
    expect(Buffer.from(first.body.data.encryptedBundle, 'base64').equals(blobs[0]!)).toBe(true);

    const recovered = await auditOf('bk_round', 'BACKUP_RECOVERED');
    expect(recovered.map((entry) => entry.details.version)).toEqual([1, 2]);
  });

  it('answers 404 when there is no backup, or no such version', async () => {
    const none = await t.call('POST', '/v1/keys/recover', { userId: 'bk_nobody' });
    expect(none.status).toBe(404);
    expect(none.body.errorCode).toBe('NOT_FOUND');
    await t.call('POST', '/v1/keys/backup', backupBody('bk_one', randomBytes(5)));
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_one', version: 2 })).status).toBe(404);
    const [failure] = await auditOf('bk_nobody', 'BACKUP_RECOVERED');
    expect(failure).toMatchObject({ status: 'FAILURE', details: { errorCode: 'NOT_FOUND' } });
  });

  it('rejects a bad version with VALIDATION_ERROR', async () => {
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_one', version: 0 })).body.errorCode).toBe('VALIDATION_ERROR');
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_one', version: '1' })).body.errorCode).toBe('VALIDATION_ERROR');
  });
});

describe('backup auth', () => {
  it('needs a key', async () => {
    const res = await t.call('POST', '/v1/keys/backup', backupBody('bk_auth', randomBytes(5)), { token: null });
    await expectError(res, 401, 'UNAUTHORIZED');
    await expectError(await t.call('POST', '/v1/keys/recover', { userId: 'bk_auth' }, { token: 'wrong' }), 401, 'UNAUTHORIZED');
  });

  it('needs backups.write to store and backups.read to recover', async () => {
    const { token: readOnly } = await insertApiKey(t.store, { acl: ['backups.read'] });
    const { token: writeOnly } = await insertApiKey(t.store, { acl: ['backups.write'] });
    const write = await t.call('POST', '/v1/keys/backup', backupBody('bk_acl', randomBytes(5)), { token: readOnly });
    expect(write.status).toBe(403);
    expect(write.body.errorCode).toBe('FORBIDDEN');
    expect((await t.call('POST', '/v1/keys/backup', backupBody('bk_acl', randomBytes(5)), { token: writeOnly })).status).toBe(200);
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_acl' }, { token: writeOnly })).status).toBe(403);
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_acl' }, { token: readOnly })).status).toBe(200);
  });

  it('lets a key back up and recover only the users it may act as', async () => {
    const { token } = await insertApiKey(t.store, { acl: ['backups.write', 'backups.read'], userIds: ['bk_own*'] });
    expect((await t.call('POST', '/v1/keys/backup', backupBody('bk_own_1', randomBytes(5)), { token })).status).toBe(200);
    await expectError(await t.call('POST', '/v1/keys/backup', backupBody('bk_other', randomBytes(5)), { token }), 403, 'FORBIDDEN');
    await t.call('POST', '/v1/keys/backup', backupBody('bk_other', randomBytes(5)));
    await expectError(await t.call('POST', '/v1/keys/recover', { userId: 'bk_other' }, { token }), 403, 'FORBIDDEN');
  });

  it("never shows another project's backups", async () => {
    await t.call('POST', '/v1/keys/backup', backupBody('bk_project', randomBytes(5)));
    await t.call('POST', '/v1/keys/backup', backupBody('bk_project', randomBytes(5)));
    const { token } = await insertApiKey(t.store, { projectId: 'other_project' });
    await expectError(await t.call('POST', '/v1/keys/recover', { userId: 'bk_project' }, { token }), 404, 'NOT_FOUND');
    const mine = await t.call('POST', '/v1/keys/backup', backupBody('bk_project', randomBytes(5)), { token });
    expect(mine.body.data.version).toBe(1);
    // the master key acting on the other project sees that project's version only
    const viaHeader = await t.call('POST', '/v1/keys/recover', { userId: 'bk_project' }, { headers: { 'x-project-id': 'other_project' } });
    expect(viaHeader.body.data.version).toBe(1);
    expect((await t.call('POST', '/v1/keys/recover', { userId: 'bk_project' })).body.data.version).toBe(2);
  });
});
