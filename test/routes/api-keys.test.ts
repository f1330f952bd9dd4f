import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasValidApiKeyChecksum } from '../../src/crypto/api-key-format.ts';
import { verifyAuditChain } from '../../src/domain/audit.ts';
import { hashToken } from '../../src/domain/authentication.ts';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { openStore } from '../../src/store/open-store.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { expectError } from '../helpers/errors.ts';

/** A clock the tests move forward, shared by the domain and the authenticator. */
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(() => t.close());

const create = (body: Record<string, unknown>, token?: string) => t.call('POST', '/v1/api-keys', body, token === undefined ? {} : { token });

async function createKey(body: Record<string, unknown>, token?: string) {
  const res = await create(body, token);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data as { uid: string; key: string; prefix: string; projectId: string };
}

const auditOf = (projectId: string) => t.store.transaction((tx) => tx.audit.query({ projectId, offset: 0, limit: 1000 })).then((page) => page.items);

describe('POST /v1/api-keys', () => {
  it('returns the key once with every field, in the {success, data} envelope', async () => {
    const res = await create({ projectId: 'create_p', acl: ['keys.read', 'bundles.fetch'], description: 'iOS app' });
    expect(res.status).toBe(201);
    expect(res.body.success).toBe(true);
    const data = res.body.data;
    expect(Object.keys(data).sort()).toEqual(
      ['acl', 'createdAt', 'description', 'expiresAt', 'key', 'lastUsedAt', 'prefix', 'projectId', 'revoked', 'uid', 'updatedAt', 'userIds'].sort(),
    );
    expect(data).toMatchObject({
      projectId: 'create_p',
      acl: ['keys.read', 'bundles.fetch'],
      userIds: ['*'],
      description: 'iOS app',
      expiresAt: null,
      revoked: false,
      lastUsedAt: null,
    });
    expect(data.key).toMatch(/^pkd_[0-9A-Za-z]{49}$/);
    expect(hasValidApiKeyChecksum(data.key)).toBe(true);
    expect(data.prefix).toBe(data.key.slice(0, 12));
    expect(data.uid).toMatch(/^key_[0-9A-Za-z]{22}$/);
    expect(data.createdAt).toBe(data.updatedAt);
  });

  it('makes a key that authenticates, in its project, with its ACL', async () => {
    const { key } = await createKey({ projectId: 'create_use', acl: ['keys.read'] });
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: key })).status).toBe(200);
    const denied = await t.call('GET', '/v1/keys/bundle/anyone', undefined, { token: key });
    expect(denied.status).toBe(403);
    expect(denied.body.errorCode).toBe('FORBIDDEN');
  });

  it('makes different keys and uids every time', async () => {
    const first = await createKey({ projectId: 'create_p', acl: ['keys.read'] });
    const second = await createKey({ projectId: 'create_p', acl: ['keys.read'] });
    expect(first.key).not.toBe(second.key);
    expect(first.uid).not.toBe(second.uid);
  });

  it('rejects a key with a typo before any lookup', async () => {
    const { key } = await createKey({ projectId: 'create_p', acl: ['keys.read'] });
    const last = key.at(-1) === 'a' ? 'b' : 'a';
    const typo = key.slice(0, -1) + last;
    expect(hasValidApiKeyChecksum(typo)).toBe(false);
    await expectError(await t.call('GET', '/v1/keys/list', undefined, { token: typo }), 401, 'UNAUTHORIZED');
  });

  it('accepts expiresAt as RFC 3339 with an offset, unix seconds, or null', async () => {
    const inAYear = Math.floor(Date.now() / 1000) + 365 * 86400;
    const fromSeconds = await createKey({ projectId: 'create_p', acl: ['keys.read'], expiresAt: inAYear });
    expect(fromSeconds).toMatchObject({ expiresAt: new Date(inAYear * 1000).toISOString() });
    const fromText = await createKey({ projectId: 'create_p', acl: ['keys.read'], expiresAt: '2099-06-01T12:00:00+02:00' });
    expect(fromText).toMatchObject({ expiresAt: '2099-06-01T10:00:00.000Z' });
    const never = await createKey({ projectId: 'create_p', acl: ['keys.read'], expiresAt: null });
    expect(never).toMatchObject({ expiresAt: null });
  });

  it('refuses an expiry in the past, or past year 9999 once normalized to UTC, with 400', async () => {
    for (const expiresAt of ['2001-01-01T00:00:00Z', Math.floor(Date.now() / 1000) - 10, '9999-12-31T23:59:59-01:00']) {
      const res = await create({ projectId: 'create_p', acl: ['keys.read'], expiresAt });
      expect(res.status).toBe(400);
      expect(res.body.errorCode).toBe('VALIDATION_ERROR');
      expect(res.body.details[0].field).toBe('expiresAt');
    }
  });

  it.each([
    ['an unknown action', { projectId: 'p', acl: ['keys.read', 'keys.destroy'] }, 'acl.1'],
    ['an empty acl', { projectId: 'p', acl: [] }, 'acl'],
    ['no acl', { projectId: 'p' }, 'acl'],
    ['no projectId', { acl: ['keys.read'] }, 'projectId'],
    ['a bad projectId', { projectId: 'a/b', acl: ['keys.read'] }, 'projectId'],
    ['a bad userIds pattern', { projectId: 'p', acl: ['keys.read'], userIds: ['user a'] }, 'userIds.0'],
    ['an empty userIds', { projectId: 'p', acl: ['keys.read'], userIds: [] }, 'userIds'],
    ['an expiresAt that is no date', { projectId: 'p', acl: ['keys.read'], expiresAt: 'tomorrow' }, 'expiresAt'],
    ['a fractional expiresAt', { projectId: 'p', acl: ['keys.read'], expiresAt: 4102444800.5 }, 'expiresAt'],
    ['an unknown field', { projectId: 'p', acl: ['keys.read'], key: 'pkd_mine' }, '(body)'],
  ])('rejects %s with 400 VALIDATION_ERROR', async (_name, body, field) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    expect(res.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
  });

  it('refuses a body that is not JSON with 400', async () => {
    const res = await t.call('POST', '/v1/api-keys', '{"projectId":');
    await expectError(res, 400, 'VALIDATION_ERROR');
  });
});

describe('expiry', () => {
  it('lets a key in until expiresAt and refuses it from then on', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const { key } = await createKey({ projectId: 'expiry_p', acl: ['keys.read'], expiresAt });
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: key })).status).toBe(200);
    clock.offsetMs = 3600_000 + 1000;
    try {
      const res = await t.call('GET', '/v1/keys/list', undefined, { token: key });
      expect(res.status).toBe(401);
      expect(res.body.errorCode).toBe('UNAUTHORIZED');
    } finally {
      clock.offsetMs = 0;
    }
  });
});

describe('GET /v1/api-keys/:uid', () => {
  it('shows the key without its secret', async () => {
    const created = await createKey({ projectId: 'get_p', acl: ['keys.read'], userIds: ['u_*'] });
    const res = await t.call('GET', `/v1/api-keys/${created.uid}`);
    expect(res.status).toBe(200);
    const { key: _secret, ...view } = created as Record<string, unknown>;
    expect(res.body).toEqual({ success: true, data: view });
  });

  it('answers 404 for an unknown uid and 400 for a malformed one', async () => {
    const missing = await t.call('GET', '/v1/api-keys/key_nope');
    expect(missing.status).toBe(404);
    expect(missing.body.errorCode).toBe('NOT_FOUND');
    expect((await t.call('GET', `/v1/api-keys/${'x'.repeat(65)}`)).status).toBe(400);
  });
});

describe('GET /v1/api-keys', () => {
  const project = 'list_p';
  const created: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 30; i++) {
      const description = i % 3 === 0 ? `mobile device ${i}` : `backend ${i}`;
      created.push((await createKey({ projectId: project, acl: ['keys.read'], description })).uid);
    }
  });

  it('lists 25 a page by default, newest first, with pagination and a Link to the next page', async () => {
    const res = await t.call('GET', `/v1/api-keys?projectId=${project}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((key: { uid: string }) => key.uid)).toEqual([...created].reverse().slice(0, 25));
    expect(res.body.pagination).toEqual({ page: 1, limit: 25, total: 30, totalPages: 2, hasNextPage: true, hasPrevPage: false });
    expect(res.headers.get('link')).toBe(`</v1/api-keys?projectId=${project}&page=2>; rel="next"`);
    for (const key of res.body.data) expect(key).not.toHaveProperty('key');
  });

  it('links back from the last page and keeps the other query parameters', async () => {
    const res = await t.call('GET', `/v1/api-keys?limit=10&projectId=${project}&page=3`);
    expect(res.body.data.map((key: { uid: string }) => key.uid)).toEqual([...created].reverse().slice(20, 30));
    expect(res.headers.get('link')).toBe(`</v1/api-keys?limit=10&projectId=${project}&page=2>; rel="prev"`);
    const middle = await t.call('GET', `/v1/api-keys?limit=10&projectId=${project}&page=2`);
    expect(middle.headers.get('link')).toBe(
      `</v1/api-keys?limit=10&projectId=${project}&page=1>; rel="prev", </v1/api-keys?limit=10&projectId=${project}&page=3>; rel="next"`,
    );
  });

  it('sends no Link header when everything fits on one page', async () => {
    const res = await t.call('GET', `/v1/api-keys?projectId=${project}&limit=100`);
    expect(res.body.data).toHaveLength(30);
    expect(res.headers.get('link')).toBeNull();
  });

  it('searches the description', async () => {
    const res = await t.call('GET', `/v1/api-keys?projectId=${project}&search=mobile&limit=5`);
    expect(res.body.pagination.total).toBe(10);
    expect(res.body.data.every((key: { description: string }) => key.description.includes('mobile'))).toBe(true);
    expect(res.headers.get('link')).toBe(`</v1/api-keys?projectId=${project}&search=mobile&limit=5&page=2>; rel="next"`);
    const literal = await t.call('GET', `/v1/api-keys?projectId=${project}&search=${encodeURIComponent('%')}`);
    expect(literal.body.data).toEqual([]);
  });

  it('lists every project for the master key without projectId', async () => {
    const res = await t.call('GET', '/v1/api-keys?limit=100');
    const projects = new Set(res.body.data.map((key: { projectId: string }) => key.projectId));
    expect(projects.has(project)).toBe(true);
    expect(projects.size).toBeGreaterThan(1);
  });

  it.each([['limit=101'], ['limit=0'], ['page=0'], ['page=abc'], ['projectId=a%20b']])('rejects %s with 400', async (query) => {
    const res = await t.call('GET', `/v1/api-keys?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
  });
});

describe('PATCH and PUT /v1/api-keys/:uid', () => {
  it.each(['PATCH', 'PUT'])('%s changes description, acl and userIds and bumps updatedAt', async (method) => {
    const created = await createKey({ projectId: 'update_p', acl: ['keys.read'], description: 'before' });
    clock.offsetMs = 5000;
    try {
      const res = await t.call(method, `/v1/api-keys/${created.uid}`, { description: 'after', acl: ['bundles.fetch'], userIds: ['u_1'] });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ uid: created.uid, description: 'after', acl: ['bundles.fetch'], userIds: ['u_1'], revoked: false });
      expect(res.body.data).not.toHaveProperty('key');
      expect(Date.parse(res.body.data.updatedAt)).toBeGreaterThan(Date.parse(res.body.data.createdAt));
    } finally {
      clock.offsetMs = 0;
    }
    const stored = await t.call('GET', `/v1/api-keys/${created.uid}`);
    expect(stored.body.data.acl).toEqual(['bundles.fetch']);
    // the new ACL applies to the key at once
    await expectError(await t.call('GET', '/v1/keys/list', undefined, { token: created.key }), 403, 'FORBIDDEN');
  });

  it.each([
    ['PATCH', { expiresAt: '2099-01-01T00:00:00Z' }, ['expiresAt']],
    ['PUT', { expiresAt: null }, ['expiresAt']],
    ['PATCH', { projectId: 'elsewhere' }, ['projectId']],
    ['PUT', { description: 'x', projectId: 'update_p', expiresAt: 5 }, ['expiresAt', 'projectId']],
  ])('%s with %j answers 400 IMMUTABLE_FIELD and changes nothing', async (method, body, fields) => {
    const created = await createKey({ projectId: 'update_p', acl: ['keys.read'], description: 'unchanged' });
    const res = await t.call(method, `/v1/api-keys/${created.uid}`, body);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('IMMUTABLE_FIELD');
    expect(res.body.details.map((detail: { field: string }) => detail.field)).toEqual(fields);
    expect((await t.call('GET', `/v1/api-keys/${created.uid}`)).body.data.description).toBe('unchanged');
  });

  it.each([
    ['an unknown field', { owner: 'me' }],
    ['the key itself', { key: 'pkd_x' }],
    ['an unknown action', { acl: ['root'] }],
    ['a non-boolean revoked', { revoked: 'yes' }],
  ])('rejects %s with 400 VALIDATION_ERROR', async (_name, body) => {
    const created = await createKey({ projectId: 'update_p', acl: ['keys.read'] });
    const res = await t.call('PATCH', `/v1/api-keys/${created.uid}`, body);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
  });

  it('answers 404 for an unknown uid', async () => {
    await expectError(await t.call('PATCH', '/v1/api-keys/key_nope', { description: 'x' }), 404, 'NOT_FOUND');
  });

  it('revokes a key for the very next request, and revoked:false restores it', async () => {
    const { uid, key } = await createKey({ projectId: 'revoke_p', acl: ['keys.read'] });
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: key })).status).toBe(200);
    const revoked = await t.call('PATCH', `/v1/api-keys/${uid}`, { revoked: true });
    expect(revoked.body.data.revoked).toBe(true);
    const refused = await t.call('GET', '/v1/keys/list', undefined, { token: key });
    expect(refused.status).toBe(401);
    expect(refused.body.errorCode).toBe('UNAUTHORIZED');
    await t.call('PUT', `/v1/api-keys/${uid}`, { revoked: false });
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: key })).status).toBe(200);
  });

  it('lets a key revoke itself', async () => {
    const { uid, key } = await createKey({ projectId: 'revoke_p', acl: ['apiKeys.manage'] });
    expect((await t.call('PATCH', `/v1/api-keys/${uid}`, { revoked: true }, { token: key })).status).toBe(200);
    await expectError(await t.call('GET', `/v1/api-keys/${uid}`, undefined, { token: key }), 401, 'UNAUTHORIZED');
  });
});

describe('DELETE /v1/api-keys/:uid', () => {
  it('answers 204 with no body; the key is gone and refused', async () => {
    const { uid, key } = await createKey({ projectId: 'delete_p', acl: ['keys.read'] });
    const res = await t.call('DELETE', `/v1/api-keys/${uid}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    await expectError(await t.call('GET', `/v1/api-keys/${uid}`), 404, 'NOT_FOUND');
    await expectError(await t.call('GET', '/v1/keys/list', undefined, { token: key }), 401, 'UNAUTHORIZED');
    await expectError(await t.call('DELETE', `/v1/api-keys/${uid}`), 404, 'NOT_FOUND');
  });
});

describe('audit', () => {
  it('records create, update and delete in the key’s project, without the secret', async () => {
    const { uid, key, prefix } = await createKey({ projectId: 'audit_p', acl: ['keys.read'] });
    await t.call('PATCH', `/v1/api-keys/${uid}`, { revoked: true, description: 'gone soon' });
    await t.call('DELETE', `/v1/api-keys/${uid}`);
    const entries = (await auditOf('audit_p')).filter((entry) => entry.details.uid === uid);
    expect(entries.map((entry) => entry.action).sort()).toEqual(['API_KEY_CREATED', 'API_KEY_DELETED', 'API_KEY_UPDATED']);
    for (const entry of entries) {
      expect(entry).toMatchObject({ resource: 'API_KEY', userId: null, status: 'SUCCESS', actor: 'master', projectId: 'audit_p' });
      expect(entry.details.prefix).toBe(prefix);
      expect(JSON.stringify(entry)).not.toContain(key.slice(12));
    }
    expect(entries.find((entry) => entry.action === 'API_KEY_UPDATED')?.details.changes).toEqual({ revoked: true, description: 'gone soon' });
    expect((await verifyAuditChain(t.deps, 'audit_p')).valid).toBe(true);
  });

  it('records a refused grant as a failure in the caller’s project', async () => {
    const manager = await createKey({ projectId: 'audit_q', acl: ['apiKeys.manage'] });
    const res = await create({ projectId: 'audit_q', acl: ['keys.register'] }, manager.key);
    expect(res.status).toBe(403);
    const failures = (await auditOf('audit_q')).filter((entry) => entry.status === 'FAILURE');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ action: 'API_KEY_CREATED', actor: manager.uid, details: { errorCode: 'FORBIDDEN' } });
  });
});

describe('managing keys with an API key', () => {
  let manager: { uid: string; key: string };
  let stranger: { uid: string; key: string };
  beforeAll(async () => {
    manager = await createKey({ projectId: 'scope_a', acl: ['apiKeys.manage', 'keys.read', 'bundles.fetch'], userIds: ['team_*'] });
    stranger = await createKey({ projectId: 'scope_b', acl: ['keys.read'] });
  });

  it('creates keys in its own project only', async () => {
    const own = await create({ projectId: 'scope_a', acl: ['keys.read'], userIds: ['team_1'] }, manager.key);
    expect(own.status).toBe(201);
    const other = await create({ projectId: 'scope_b', acl: ['keys.read'], userIds: ['team_1'] }, manager.key);
    expect(other.status).toBe(403);
    expect(other.body.errorCode).toBe('FORBIDDEN');
  });

  it('lists its own project only; another projectId is 403', async () => {
    const res = await t.call('GET', '/v1/api-keys?limit=100', undefined, { token: manager.key });
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    expect(res.body.data.every((key: { projectId: string }) => key.projectId === 'scope_a')).toBe(true);
    expect((await t.call('GET', '/v1/api-keys?projectId=scope_a', undefined, { token: manager.key })).status).toBe(200);
    await expectError(await t.call('GET', '/v1/api-keys?projectId=scope_b', undefined, { token: manager.key }), 403, 'FORBIDDEN');
  });

  it('sees another project’s keys as missing (404) for get, update and delete', async () => {
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      const body = method === 'PATCH' || method === 'PUT' ? { revoked: true } : undefined;
      const res = await t.call(method, `/v1/api-keys/${stranger.uid}`, body, { token: manager.key });
      expect(res.status, method).toBe(404);
    }
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: stranger.key })).status).toBe(200);
  });

  it.each([
    [['keys.read'], ['team_1'], 201],
    [['keys.read', 'bundles.fetch', 'apiKeys.manage'], ['team_*'], 201],
    [['keys.read'], ['team_a*', 'team_42'], 201],
    [['keys.register'], ['team_1'], 403],
    [['*'], ['team_1'], 403],
    [['keys.read'], ['*'], 403],
    [['keys.read'], ['other'], 403],
    [['keys.read'], ['team*'], 403],
  ])('grants acl %j for users %j → %i', async (acl, userIds, status) => {
    expect((await create({ projectId: 'scope_a', acl, userIds }, manager.key)).status).toBe(status);
  });

  it('gives a key created without userIds the creator’s own patterns', async () => {
    const created = await createKey({ projectId: 'scope_a', acl: ['keys.read'] }, manager.key);
    expect((await t.call('GET', `/v1/api-keys/${created.uid}`)).body.data.userIds).toEqual(['team_*']);
  });

  it('cannot raise a key above itself, nor change or delete a stronger key', async () => {
    const weak = await createKey({ projectId: 'scope_a', acl: ['keys.read'], userIds: ['team_1'] }, manager.key);
    await expectError(await t.call('PATCH', `/v1/api-keys/${weak.uid}`, { acl: ['keys.register'] }, { token: manager.key }), 403, 'FORBIDDEN');
    await expectError(await t.call('PATCH', `/v1/api-keys/${weak.uid}`, { userIds: ['*'] }, { token: manager.key }), 403, 'FORBIDDEN');
    expect((await t.call('PATCH', `/v1/api-keys/${weak.uid}`, { acl: ['bundles.fetch'] }, { token: manager.key })).status).toBe(200);

    const admin = await createKey({ projectId: 'scope_a', acl: ['*'] });
    for (const [method, body] of [
      ['PATCH', { revoked: true }],
      ['PUT', { description: 'mine now' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await t.call(method, `/v1/api-keys/${admin.uid}`, body, { token: manager.key });
      expect(res.status, method).toBe(403);
    }
    // reading a stronger key is fine: it shows no secret
    expect((await t.call('GET', `/v1/api-keys/${admin.uid}`, undefined, { token: manager.key })).status).toBe(200);
    expect((await t.call('GET', '/v1/keys/list', undefined, { token: admin.key })).status).toBe(200);
  });

  it('lets a key with `*` grant anything in its project', async () => {
    const admin = await createKey({ projectId: 'scope_a', acl: ['*'] });
    expect((await create({ projectId: 'scope_a', acl: ['*'] }, admin.key)).status).toBe(201);
    await expectError(await create({ projectId: 'scope_b', acl: ['keys.read'] }, admin.key), 403, 'FORBIDDEN');
  });
});

describe('the secret after creation', () => {
  it('appears in no answer, audit entry or stored row, only its hash does', async () => {
    const { uid, key } = await createKey({ projectId: 'secret_p', acl: ['keys.read'], description: 'secret test' });
    const secretPart = key.slice(12); // everything after the displayed prefix
    await t.call('GET', '/v1/keys/list', undefined, { token: key });
    const answers = [
      await t.call('GET', `/v1/api-keys/${uid}`),
      await t.call('GET', '/v1/api-keys?projectId=secret_p'),
      await t.call('GET', '/v1/api-keys?search=secret'),
      await t.call('PATCH', `/v1/api-keys/${uid}`, { description: 'patched' }),
      await t.call('PUT', `/v1/api-keys/${uid}`, { revoked: true }),
      await t.call('GET', '/v1/keys/audit', undefined, { headers: { 'x-project-id': 'secret_p' } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(JSON.stringify(answers[5]!.body)).toContain('API_KEY_CREATED');
    for (const answer of answers) {
      expect(JSON.stringify(answer.body)).not.toContain(secretPart);
      const headerText: string[] = [];
      answer.headers.forEach((value, name) => headerText.push(`${name}: ${value}`));
      expect(headerText.join('\n')).not.toContain(secretPart);
    }
    const stored = await t.store.transaction((tx) => tx.apiKeys.get(uid));
    expect(stored?.hash).toBe(hashToken(key));
    expect(JSON.stringify(stored)).not.toContain(secretPart);
    expect(JSON.stringify(await auditOf('secret_p'))).not.toContain(secretPart);
  });
});

describe('the secret in logs and on disk', () => {
  it('is in no log line and in no file of the database directory after a graceful close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prekeyd-secret-'));
    try {
      const store = await openStore(join(dir, 'prekeyd.db'));
      const local = await createTestApp({ store });
      const lines: string[] = [];
      const app = createApp({ ...local.deps, logger: createLogger('debug', (line) => lines.push(line)) });
      const call = (method: string, path: string, token: string, body?: unknown) =>
        app.request(path, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const created = await call('POST', '/v1/api-keys', masterKey, { projectId: 'disk_p', acl: ['apiKeys.manage', 'keys.read'] });
      expect(created.status).toBe(201);
      const { uid, key } = (await created.json()).data as { uid: string; key: string };
      expect((await call('GET', '/v1/keys/list', key)).status).toBe(200);
      expect((await call('GET', '/v1/api-keys', key)).status).toBe(200);
      await expectError(await call('POST', '/v1/api-keys', key, { projectId: 'disk_p', acl: ['*'] }), 403, 'FORBIDDEN');
      await expectError(await call('PATCH', `/v1/api-keys/${uid}`, key, { key }), 400, 'VALIDATION_ERROR');
      await expectError(await call('GET', '/v1/keys/list', key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a')), 401, 'UNAUTHORIZED');
      expect((await call('PATCH', `/v1/api-keys/${uid}`, masterKey, { revoked: true })).status).toBe(200);
      await expectError(await call('GET', '/v1/keys/list', key), 401, 'UNAUTHORIZED');
      await (local.deps.authenticator as { flushUsage?: () => Promise<void> }).flushUsage?.();
      await local.close();
      await store.close();

      const secretPart = key.slice(12);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).not.toContain(secretPart);
      // Every file, the blob directory's included.
      const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      expect(files.length).toBeGreaterThan(0);
      const bytes = Buffer.concat(files.map((entry) => readFileSync(join(entry.parentPath, entry.name))));
      // the key's row is on disk (its hash is), the secret is not
      expect(bytes.includes(Buffer.from(hashToken(key)))).toBe(true);
      expect(bytes.includes(Buffer.from(secretPart))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
