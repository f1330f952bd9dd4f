/**
 * Attack: `?access_token=` was taken as a credential on every HTTP route, and list answers
 * echoed it in their `Link` header (master key included), so a key ended up in any proxy log,
 * browser history or Referer that saw a next-page URL. Now it is a credential only on the
 * WebSocket upgrade (GET /v1/events), and no answer carries a credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';

describe('?access_token= outside the WebSocket upgrade', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    for (let i = 0; i < 3; i++) {
      const created = await t.call('POST', '/v1/api-keys', { projectId: 'default', acl: ['keys.read'] });
      expect(created.status).toBe(201);
    }
  });
  afterAll(() => t.close());

  it('is no credential on HTTP routes', async () => {
    for (const path of ['/v1/api-keys?limit=1', '/v1/keys/audit?limit=1', '/metrics', '/v2/keys']) {
      const separator = path.includes('?') ? '&' : '?';
      const res = await t.call('GET', `${path}${separator}access_token=${masterKey}`, undefined, { token: null });
      expect(res.status, path).toBe(401);
      expect(res.body.errorCode, path).toBe('UNAUTHORIZED');
      expect(res.body.error, path).toMatch(/only on the WebSocket upgrade/);
      expect(JSON.stringify(res.body)).not.toContain(masterKey);
    }
  });

  it('is never echoed in a Link header', async () => {
    const res = await t.call('GET', `/v1/api-keys?limit=1&access_token=${masterKey}`);
    expect(res.status).toBe(200);
    const link = res.headers.get('link') ?? '';
    expect(link).toContain('rel="next"');
    expect(link).not.toContain(masterKey);
    expect(link).not.toContain('access_token');
    res.headers.forEach((value) => expect(value).not.toContain(masterKey));
  });
});
