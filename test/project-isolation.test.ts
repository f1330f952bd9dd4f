/**
 * Two projects with the same user ids (SPEC §2): nothing of one is visible or changeable with
 * the other's key. Each project gets a key with every action (`*`); `alice` and `bob` exist in
 * both, `carol_a` only in A, `carol_b` only in B. Events are covered by the push tests, `/v2`
 * by the Signal tests.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBody } from './helpers/backup-body.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { makeSignedPreKey, registration, type TestIdentity } from './helpers/keys.ts';
import { expectError } from './helpers/errors.ts';

let t: TestApp;
const projects = { a: 'iso_a', b: 'iso_b' } as const;
type Side = keyof typeof projects;
const keys = {} as Record<Side, { uid: string; key: string }>;
const identities = {} as Record<Side, Record<string, TestIdentity>>;

const as = (side: Side) => ({
  call: (method: string, path: string, body?: unknown) => t.call(method, path, body, { token: keys[side].key }),
});

const ephemeralKey = () => registration('ephemeral', 1).body.oneTimePreKeys[0]!.publicKey;

let sessionInB: string;

beforeAll(async () => {
  t = await createTestApp();
  for (const side of ['a', 'b'] as const) {
    const created = await t.call('POST', '/v1/api-keys', { projectId: projects[side], acl: ['*'], description: `project ${side}` });
    expect(created.status).toBe(201);
    keys[side] = created.body.data;
    identities[side] = {};
    for (const userId of ['alice', 'bob', `carol_${side}`]) {
      const { identity, body } = registration(userId, 5);
      identities[side][userId] = identity;
      const res = await as(side).call('POST', '/v1/keys/register', body);
      // the same user ids register in both projects without a conflict
      expect(res.status, `${side} ${userId}`).toBe(201);
    }
  }
  expect((await as('b').call('POST', '/v1/keys/backup', backupBody('alice', 'backup of alice in B'))).status).toBe(200);
  const session = await as('b').call('POST', '/v1/keys/shared-secret', {
    initiatorUserId: 'alice',
    responderUserId: 'bob',
    initiatorEphemeralKey: ephemeralKey(),
  });
  expect(session.status).toBe(200);
  sessionInB = session.body.data.sessionId;
});
afterAll(() => t.close());

describe('reads', () => {
  it('bundle: each key gets its own project’s alice; the other project’s users do not exist', async () => {
    for (const side of ['a', 'b'] as const) {
      const res = await as(side).call('GET', '/v1/keys/bundle/alice');
      expect(res.status).toBe(200);
      expect(res.body.data.identityKey).toBe(identities[side].alice!.identityKey);
    }
    await expectError(await as('a').call('GET', '/v1/keys/bundle/carol_b'), 404, 'NOT_FOUND');
    await expectError(await as('b').call('GET', '/v1/keys/bundle/carol_a'), 404, 'NOT_FOUND');
  });

  it('bundle: consuming pre-keys in A leaves B’s count alone', async () => {
    const before = (await as('b').call('GET', '/v1/keys/verify/bob')).body.data.oneTimePreKeysRemaining;
    await as('a').call('GET', '/v1/keys/bundle/bob');
    await as('a').call('GET', '/v1/keys/bundle/bob');
    expect((await as('b').call('GET', '/v1/keys/verify/bob')).body.data.oneTimePreKeysRemaining).toBe(before);
  });

  it('verify: fingerprints are per project, other users are 404', async () => {
    const fingerprint = (identity: TestIdentity) => createHash('sha256').update(Buffer.from(identity.identityKey, 'hex')).digest('hex').slice(0, 16);
    const res = await as('a').call('GET', '/v1/keys/verify/alice');
    expect(res.body.data.identityKeyFingerprint).toBe(fingerprint(identities.a.alice!));
    await expectError(await as('a').call('GET', '/v1/keys/verify/carol_b'), 404, 'NOT_FOUND');
  });

  it('list: only the project’s own key sets', async () => {
    for (const side of ['a', 'b'] as const) {
      const res = await as(side).call('GET', '/v1/keys/list?limit=100');
      expect(res.status).toBe(200);
      const users = res.body.data.map((item: { userId: string }) => item.userId).sort();
      expect(users).toEqual(['alice', 'bob', `carol_${side}`].sort());
    }
  });

  it('audit: only the project’s own entries, with its own intact chain', async () => {
    const audit = await as('a').call('GET', '/v1/keys/audit?limit=100');
    expect(audit.status).toBe(200);
    type Entry = { id: number; hash: string; userId: string | null; action: string; actor: string; status: string };
    const entries = audit.body.data as Entry[];
    expect(entries.length).toBeGreaterThan(0);
    const inB = (await as('b').call('GET', '/v1/keys/audit?limit=100')).body.data as Entry[];
    const hashesOfB = new Set(inB.map((entry) => entry.hash));
    expect(entries.filter((entry) => hashesOfB.has(entry.hash))).toEqual([]);
    // A's own failed attempts on carol_b are A's record; nothing B did with carol_b is in it
    expect(entries.filter((entry) => entry.userId === 'carol_b' && entry.status === 'SUCCESS')).toEqual([]);
    // B's backup and session of alice are B's business only
    expect(entries.some((entry) => entry.action === 'BACKUP_CREATED' || entry.action === 'SHARED_SECRET_INITIATED')).toBe(false);
    expect(entries.every((entry) => entry.actor === keys.a.uid || entry.actor === 'master')).toBe(true);
    const carolInA = (await as('a').call('GET', '/v1/keys/audit?userId=carol_b')).body.data as Entry[];
    expect(carolInA.every((entry) => entry.actor === keys.a.uid && entry.status === 'FAILURE')).toBe(true);
    const aliceInB = await as('b').call('GET', '/v1/keys/audit?userId=alice&limit=100');
    expect(aliceInB.body.data.map((entry: { action: string }) => entry.action)).toContain('BACKUP_CREATED');
    const chain = await as('a').call('GET', '/v1/keys/audit/verify');
    expect(chain.body.data.valid).toBe(true);
  });
});

describe('changes', () => {
  it('rotate: the other project’s users are 404, and rotating alice in A leaves B’s alice alone', async () => {
    const foreign = await as('a').call('POST', '/v1/keys/rotate', { userId: 'carol_b', newOneTimePreKeys: registration('x', 1).body.oneTimePreKeys });
    await expectError(foreign, 404, 'NOT_FOUND');
    const beforeB = (await as('b').call('GET', '/v1/keys/bundle/alice')).body.data.signedPreKey;
    const newSignedPreKey = makeSignedPreKey(identities.a.alice!);
    expect((await as('a').call('POST', '/v1/keys/rotate', { userId: 'alice', newSignedPreKey })).status).toBe(200);
    expect((await as('a').call('GET', '/v1/keys/bundle/alice')).body.data.signedPreKey.keyId).toBe(newSignedPreKey.keyId);
    expect((await as('b').call('GET', '/v1/keys/bundle/alice')).body.data.signedPreKey).toEqual(beforeB);
  });

  it('revoke and suspend: the other project’s users are 404; revoking bob in A leaves B’s bob active', async () => {
    for (const path of ['/v1/keys/revoke', '/v1/keys/suspend', '/v1/keys/unsuspend']) {
      expect((await as('a').call('POST', path, { userId: 'carol_b' })).status, path).toBe(404);
    }
    expect((await as('a').call('POST', '/v1/keys/revoke', { userId: 'bob', reason: 'lost phone' })).status).toBe(200);
    expect((await as('a').call('GET', '/v1/keys/verify/bob')).body.data.status).toBe('revoked');
    const inB = await as('b').call('GET', '/v1/keys/verify/bob');
    expect(inB.body.data).toMatchObject({ status: 'active', isValid: true });
  });

  it('backup and recover: B’s backup of alice is not in A, and A’s backup does not touch B’s', async () => {
    await expectError(await as('a').call('POST', '/v1/keys/recover', { userId: 'alice' }), 404, 'NOT_FOUND');
    const stored = await as('a').call('POST', '/v1/keys/backup', backupBody('alice', 'backup of alice in A'));
    expect(stored.status).toBe(200);
    expect(stored.body.data.version).toBe(1);
    const recoveredB = await as('b').call('POST', '/v1/keys/recover', { userId: 'alice' });
    expect(recoveredB.body.data).toMatchObject({ version: 1, encryptedBundle: Buffer.from('backup of alice in B').toString('base64') });
    const recoveredA = await as('a').call('POST', '/v1/keys/recover', { userId: 'alice' });
    expect(recoveredA.body.data.encryptedBundle).toBe(Buffer.from('backup of alice in A').toString('base64'));
  });

  it('shared secret: no session with the other project’s users, and B’s sessions are not found in A', async () => {
    const foreign = await as('a').call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'alice',
      responderUserId: 'carol_b',
      initiatorEphemeralKey: ephemeralKey(),
    });
    await expectError(foreign, 404, 'NOT_FOUND');
    await expectError(await as('a').call('GET', `/v1/keys/shared-secret/${sessionInB}`), 404, 'NOT_FOUND');
    await expectError(await as('a').call('POST', `/v1/keys/shared-secret/${sessionInB}/complete`), 404, 'NOT_FOUND');
    const inB = await as('b').call('GET', `/v1/keys/shared-secret/${sessionInB}`);
    expect(inB.body.data).toMatchObject({ sessionId: sessionInB, status: 'pending' });
  });
});

describe('public keys', () => {
  it('a public key of A is not listed, read or deletable with B’s key', async () => {
    const added = await as('a').call('POST', '/v1/public-keys', {
      ownerId: 'alice',
      name: 'isolation',
      keyType: 'ed25519',
      publicKey: identities.a.alice!.identityKey,
    });
    expect(added.status).toBe(201);
    const { id } = added.body.data;
    const listedInB = await as('b').call('GET', '/v1/public-keys?ownerId=alice');
    expect(listedInB.status).toBe(200);
    expect(listedInB.body.data).toEqual([]);
    await expectError(await as('b').call('GET', `/v1/public-keys/${id}`), 404, 'NOT_FOUND');
    await expectError(await as('b').call('DELETE', `/v1/public-keys/${id}`), 404, 'NOT_FOUND');
    expect((await as('a').call('GET', `/v1/public-keys/${id}`)).status).toBe(200);
  });
});

describe('API keys', () => {
  it('list and get: only the project’s own keys; the other’s uid is 404', async () => {
    const listed = await as('a').call('GET', '/v1/api-keys?limit=100');
    expect(listed.body.data.map((key: { uid: string }) => key.uid)).toEqual([keys.a.uid]);
    await expectError(await as('a').call('GET', `/v1/api-keys?projectId=${projects.b}`), 403, 'FORBIDDEN');
    await expectError(await as('a').call('GET', `/v1/api-keys/${keys.b.uid}`), 404, 'NOT_FOUND');
    expect((await as('a').call('GET', `/v1/api-keys/${keys.a.uid}`)).status).toBe(200);
  });

  it('update, delete and create: nothing of the other project can be changed', async () => {
    await expectError(await as('a').call('PATCH', `/v1/api-keys/${keys.b.uid}`, { revoked: true }), 404, 'NOT_FOUND');
    await expectError(await as('a').call('PUT', `/v1/api-keys/${keys.b.uid}`, { description: 'hijacked' }), 404, 'NOT_FOUND');
    await expectError(await as('a').call('DELETE', `/v1/api-keys/${keys.b.uid}`), 404, 'NOT_FOUND');
    await expectError(await as('a').call('POST', '/v1/api-keys', { projectId: projects.b, acl: ['*'] }), 403, 'FORBIDDEN');
    const b = await as('b').call('GET', `/v1/api-keys/${keys.b.uid}`);
    expect(b.body.data).toMatchObject({ revoked: false, description: 'project b' });
  });
});

describe('the master key', () => {
  it('acts on the project named by X-Project-Id, `default` when absent', async () => {
    const inB = await t.call('GET', '/v1/keys/bundle/carol_b', undefined, { headers: { 'x-project-id': projects.b } });
    expect(inB.status).toBe(200);
    expect(inB.body.data.identityKey).toBe(identities.b.carol_b!.identityKey);
    await expectError(await t.call('GET', '/v1/keys/bundle/carol_b', undefined, { headers: { 'x-project-id': projects.a } }), 404, 'NOT_FOUND');
    await expectError(await t.call('GET', '/v1/keys/bundle/alice'), 404, 'NOT_FOUND');
  });

  it('refuses a malformed X-Project-Id with 400', async () => {
    const res = await t.call('GET', '/v1/keys/list', undefined, { headers: { 'x-project-id': '../iso_a' } });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
  });

  it('ignores X-Project-Id from an API key: a key stays in its own project', async () => {
    const res = await t.call('GET', '/v1/keys/bundle/carol_b', undefined, { token: keys.a.key, headers: { 'x-project-id': projects.b } });
    await expectError(res, 404, 'NOT_FOUND');
  });
});
