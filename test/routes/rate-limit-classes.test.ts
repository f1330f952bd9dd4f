/**
 * Every route declares the rate limit it counts against (`rateLimit` in defineRoute, shown as
 * `x-prekeyd-rate-limit` in /openapi.json), and the declaration is what the route enforces: a
 * new route cannot be served with none, nor get one by the shape of its URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { expectError } from '../helpers/errors.ts';
import { registration } from '../helpers/keys.ts';

const keysLimit = 50;
const bundleLimit = 7;
/** The RateLimit-Limit a fresh API key sees on its first call: the tightest of the class's buckets. */
const expectedLimit: Record<string, string | null> = { keys: String(keysLimit), bundle: String(bundleLimit), none: null };

interface Operation {
  method: string;
  path: string;
  rateLimit: unknown;
}

let t: TestApp;
let operations: Operation[];
beforeAll(async () => {
  t = await createTestApp({ http: { rateLimitKeys: keysLimit, rateLimitBundle: bundleLimit } });
  const doc = (await t.call('GET', '/openapi.json', undefined, { token: null })).body;
  operations = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, rateLimit: operation['x-prekeyd-rate-limit'] })),
  );
});
afterAll(() => t.close());

describe('rate limit classes declared on the routes', () => {
  it('are declared by every operation of /openapi.json, and every API route served is documented', () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const operation of operations) expect(['keys', 'bundle', 'none'], `${operation.method} ${operation.path}`).toContain(operation.rateLimit);
    const documented = new Set(operations.map(({ method, path }) => `${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    const served = t.app.routes
      .filter((route) => route.method !== 'ALL' && !/^\/(docs|console)\b/.test(route.path) && route.path !== '/openapi.json' && route.path !== '/')
      .map((route) => `${route.method} ${route.path}`);
    for (const route of new Set(served)) expect(documented, route).toContain(route);
    // SPEC §3: the bundle routes (pre-key consumption) and the /v1/keys and /v2/keys calls are limited.
    const declared = (method: string, path: string) => operations.find((each) => each.method === method && each.path === path)?.rateLimit;
    expect(declared('GET', '/v1/keys/bundle/{userId}')).toBe('bundle');
    expect(declared('GET', '/v1/keys/bundles/{userId}')).toBe('bundle');
    expect(declared('GET', '/v2/keys/{identifier}/{deviceId}')).toBe('bundle');
    expect(declared('POST', '/v1/keys/register')).toBe('keys');
    expect(declared('PUT', '/v2/keys')).toBe('keys');
  });

  it('are what each route enforces: an API key sees the RateLimit-Limit of the class declared, whatever the answer', async () => {
    const seen: string[] = [];
    const wanted: string[] = [];
    for (const { method, path, rateLimit } of operations) {
      const { token } = await insertApiKey(t.store, { acl: ['*'] });
      const url = path.replace('/*', '/0/000').replace(/\{(\w+)\}/g, (_, name: string) => (name === 'deviceId' ? '1' : `x_${name}`));
      const response = await t.app.request(url, { method, headers: { authorization: `Bearer ${token}` } });
      expect(response.status, `${method} ${path}`).toBeLessThan(500);
      seen.push(`${method} ${path}: ${response.headers.get('RateLimit-Limit')}`);
      wanted.push(`${method} ${path}: ${expectedLimit[rateLimit as string]}`);
    }
    expect(seen).toEqual(wanted);
  });

  it('runs before the body is read: a key over its limit gets 429 for a body the server never holds', async () => {
    const { token } = await insertApiKey(t.store, { acl: ['*'] });
    for (let i = 0; i < keysLimit; i++) expect((await t.call('GET', '/v1/keys/list', undefined, { token })).status).toBe(200);
    const tooLarge = { ...registration('rl_class_user', 1).body, padding: 'x'.repeat(2 * 1024 * 1024) };
    await expectError(await t.call('POST', '/v1/keys/register', tooLarge, { token }), 429, 'RATE_LIMITED');
    // Within its limits, the same body is refused for its size: the order is limit, then body.
    const { token: fresh } = await insertApiKey(t.store, { acl: ['*'] });
    const refused = await t.call('POST', '/v1/keys/register', tooLarge, { token: fresh });
    await expectError(refused, 413, 'PAYLOAD_TOO_LARGE');
    expect(refused.headers.get('RateLimit-Limit')).toBe(String(keysLimit));
  });
});
