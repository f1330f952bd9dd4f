import { validate } from '@scalar/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { backupBody } from '../helpers/backup-body.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
let app: ReturnType<typeof createApp>;
const lines: string[] = [];
const metrics = createMetrics();

async function call(path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? masterKey : init.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  return app.request(path, { ...init, headers });
}

beforeAll(async () => {
  t = await createTestApp();
  app = createApp({
    ...t.deps,
    logger: createLogger('info', (line) => lines.push(line)),
    metrics,
    http: { ...t.deps.http, corsOrigins: 'https://app.example' },
  });
});
afterAll(() => t.close());

describe('request logs', () => {
  it('writes one JSON line per request with method, route pattern, status, latency, request id, project and actor', async () => {
    lines.length = 0;
    const response = await call('/v1/keys/verify/nobody', { headers: { 'x-request-id': 'req-123' } });
    await expectError(response, 404, 'NOT_FOUND');
    expect(response.headers.get('x-request-id')).toBe('req-123');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      route: '/v1/keys/verify/:userId',
      status: 404,
      requestId: 'req-123',
      project: 'default',
      actor: 'master',
    });
    expect(typeof line.ms).toBe('number');
  });

  it('generates a request id when none is given, and labels unknown paths as unmatched', async () => {
    lines.length = 0;
    const response = await call('/no/such/path', { token: null });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(lines[0]!).route).toBe('unmatched');
  });

  it('never logs a token, a key or a body', async () => {
    lines.length = 0;
    const { token } = await insertApiKey(t.store, { acl: ['*'] });
    const { body } = registration('log_user', 2);
    await call('/v1/keys/register', { method: 'POST', body: JSON.stringify(body), token });
    await call('/v1/keys/bundle/log_user', { token });
    const all = lines.join('\n');
    expect(lines.length).toBe(2);
    for (const secret of [token, masterKey, body.identityKey, body.signedPreKey.signature, body.oneTimePreKeys[0]!.publicKey]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe('GET /metrics', () => {
  it('answers Prometheus text whose counters move with traffic', async () => {
    const scrape = async () => {
      const response = await call('/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };
    const sample = (text: string, name: string, labels: string) => {
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(labels));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await scrape();
    for (const lineText of before.split('\n').filter((candidate) => candidate && !candidate.startsWith('#'))) {
      expect(lineText).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+|NaN$/);
    }
    const labels = 'route="/v1/keys/verify/:userId",status="404"';
    const countBefore = sample(before, 'prekeyd_http_requests_total', labels);
    await call('/v1/keys/verify/nobody');
    await call('/v1/keys/verify/nobody');
    const after = await scrape();
    expect(sample(after, 'prekeyd_http_requests_total', labels)).toBe(countBefore + 2);
    expect(after).toContain('prekeyd_http_request_duration_seconds_bucket');
  });

  it('needs the master key or metrics.read', async () => {
    await expectError(await call('/metrics', { token: null }), 401, 'UNAUTHORIZED');
    const { token: without } = await insertApiKey(t.store, { acl: ['keys.read'] });
    await expectError(await call('/metrics', { token: without }), 403, 'FORBIDDEN');
    const { token: reader } = await insertApiKey(t.store, { acl: ['metrics.read'] });
    expect((await call('/metrics', { token: reader })).status).toBe(200);
  });
});

describe('headers', () => {
  it('sets security headers on every response', async () => {
    for (const path of ['/healthz', '/v1/keys/list', '/nothing']) {
      const response = await call(path);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('strict-transport-security')).toContain('max-age');
    }
  });

  it('answers CORS preflights for the configured origin only', async () => {
    const preflight = await app.request('/v1/keys/list', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await call('/healthz', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('API documentation', () => {
  it('serves an OpenAPI 3.1 document that validates and lists every route the app serves', async () => {
    const doc = await (await call('/openapi.json', { token: null })).json();
    const { valid, errors } = await validate(doc);
    expect(errors).toEqual([]);
    expect(valid).toBe(true);
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    const served = app.routes
      .filter((route) => route.method !== 'ALL' && !/^\/(docs|console)\b/.test(route.path) && route.path !== '/openapi.json' && route.path !== '/') // the landing page and the UIs are not API
      .map((route) => `${route.method} ${route.path}`);
    expect(served.length).toBeGreaterThan(10);
    for (const route of served) expect(documented, route).toContain(route);
  });

  it('serves /docs and its scripts from the server itself', async () => {
    const page = await call('/docs', { token: null });
    expect(page.status).toBe(200);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      expect(source.startsWith('/')).toBe(true);
      const asset = await call(source, { token: null });
      expect(asset.status, source).toBe(200);
      expect((await asset.text()).length).toBeGreaterThan(10);
    }
  });
});

describe('POST /v1/admin/snapshot', () => {
  it('downloads a standalone SQLite copy that a server can start on', async () => {
    await call('/v1/keys/register', { method: 'POST', body: JSON.stringify(registration('snap_user', 3).body) });
    const backup = backupBody('snap_user', new Uint8Array(3000).fill(5));
    expect((await call('/v1/keys/backup', { method: 'POST', body: JSON.stringify(backup) })).status).toBe(200);
    const response = await call('/v1/admin/snapshot', { method: 'POST' });
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(new TextDecoder().decode(bytes.subarray(0, 15))).toBe('SQLite format 3');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const file = join(t.dir, 'restored.db');
    writeFileSync(file, bytes);
    const restored = await createTestApp({ dbPath: file });
    try {
      expect((await restored.call('GET', '/v1/keys/verify/snap_user')).body.data.oneTimePreKeysRemaining).toBe(3);
      // The download carries the backup blob inline; the restored server moved it to its blob files.
      expect((await restored.call('POST', '/v1/keys/recover', { userId: 'snap_user' })).body.data.encryptedBundle).toBe(backup.encryptedBundle);
    } finally {
      await restored.close();
    }
  });

  it('is for the master key only', async () => {
    const { token } = await insertApiKey(t.store, { acl: ['*'] });
    await expectError(await call('/v1/admin/snapshot', { method: 'POST', token }), 403, 'FORBIDDEN');
  });

  it('answers 400 VALIDATION_ERROR on a backend without snapshots (PostgreSQL: pg_dump)', async () => {
    // The store without snapshotTo, as the PostgreSQL store is; every other member is the real one.
    const store = new Proxy(t.store, {
      get: (target, name) => (name === 'snapshotTo' ? undefined : Reflect.get(target, name, target)),
    });
    const withoutSnapshots = createApp({ ...t.deps, store });
    const response = await withoutSnapshots.request('/v1/admin/snapshot', { method: 'POST', headers: { authorization: `Bearer ${masterKey}` } });
    await expectError(response, 400, 'VALIDATION_ERROR');
    expect((await response.json()).error).toContain('pg_dump');
  });
});
