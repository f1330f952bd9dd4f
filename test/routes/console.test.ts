/** GET /console and its files: content types, the strict CSP, gzip, caching, 404s. */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleContentSecurityPolicy } from '../../src/routes/console/index.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const get = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers });

describe('GET /console', () => {
  it('serves the page without a key, under a CSP that allows nothing inline and nothing foreign', async () => {
    const response = await get('/console');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toBe(consoleContentSecurityPolicy());
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    // The push channel of the page's own host, named for browsers before CSP Level 3; a Host that is no host name is left out.
    const onHost = (await get('/console', { host: '127.0.0.1:8080' })).headers.get('content-security-policy');
    expect(onHost).toContain("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;");
    const forged = (await get('/console', { host: "evil.example; script-src 'unsafe-inline'" })).headers.get('content-security-policy');
    expect(forged).toBe(consoleContentSecurityPolicy());
    const html = await response.text();
    // No inline script or style: every script and stylesheet is a file of /console.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc="\/console\/)/);
    expect(html).not.toMatch(/<style|style="/);
    expect(html).toMatch(/<script type="module" src="\/console\/app\.js\?v=[0-9a-f]{16}"><\/script>/);
    expect(html).toMatch(/<link rel="stylesheet" href="\/console\/app\.css\?v=[0-9a-f]{16}">/);
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect((await get('/console/')).status).toBe(200);
  });

  it('serves the script and the stylesheet gzipped with their types, immutable under their content hash', async () => {
    const html = await (await get('/console')).text();
    const scriptPath = /src="(\/console\/app\.js\?v=[0-9a-f]+)"/.exec(html)![1]!;
    const script = await get(scriptPath, { 'accept-encoding': 'gzip, br' });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('content-encoding')).toBe('gzip');
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect(script.headers.get('content-security-policy')).toBe(consoleContentSecurityPolicy());
    const source = gunzipSync(Buffer.from(await script.arrayBuffer())).toString('utf8');
    expect(source).toContain('/v1/whoami');
    expect(source).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // no URL to fetch anything from (SVG's namespace is not a fetch)

    const css = await get('/console/app.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('content-encoding')).toBeNull(); // a client that takes no gzip gets plain text
    expect(css.headers.get('cache-control')).toBe('no-cache'); // no ?v=: revalidate
    expect(await css.text()).toContain(':focus-visible');

    const etag = script.headers.get('etag')!;
    expect((await get('/console/app.js', { 'if-none-match': etag })).status).toBe(304);
  });

  it('answers unknown console paths with 404 NOT_FOUND in the error envelope, still under the CSP', async () => {
    for (const path of ['/console/nothing.js', '/console/app.js/x', '/console/index.html']) {
      const response = await get(path);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-security-policy')).toBe(consoleContentSecurityPolicy());
      expect(await response.json()).toMatchObject({ success: false, errorCode: 'NOT_FOUND' });
    }
    const posted = await t.app.request('/console', { method: 'POST' });
    expect(posted.status).toBe(404);
  });
});
