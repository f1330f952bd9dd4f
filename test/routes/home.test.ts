/** GET /: a small page (or JSON) pointing a newcomer at /docs, /openapi.json and /healthz, without auth. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('GET /', () => {
  it('answers browsers with an HTML page linking the docs, the OpenAPI document and health', async () => {
    const res = await t.call('GET', '/', undefined, { token: null, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    for (const href of ['/docs', '/console', '/openapi.json', '/healthz']) expect(res.body).toContain(`<a href="${href}">`);
    // Each link answers too.
    for (const href of ['/docs', '/openapi.json', '/healthz']) expect((await t.call('GET', href, undefined, { token: null })).status).toBe(200);
  });

  it("answers JSON to Accept: application/json, and HTML to curl's */*", async () => {
    const res = await t.call('GET', '/', undefined, { token: null, headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'prekeyd',
      version: expect.any(String),
      links: { docs: '/docs', console: '/console', openapi: '/openapi.json', healthz: '/healthz', readyz: '/readyz' },
    });
    const curl = await t.call('GET', '/', undefined, { token: null, headers: { accept: '*/*' } });
    expect(curl.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('is only GET /: other methods and paths stay 404 in the error envelope', async () => {
    const post = await t.call('POST', '/', {}, { token: null });
    expect(post.status).toBe(404);
    expect(post.body).toMatchObject({ success: false, errorCode: 'NOT_FOUND' });
  });
});
