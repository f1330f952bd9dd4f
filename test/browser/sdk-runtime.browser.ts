/** The bundled client in Chromium: the SDK scenario with the browser's own fetch and WebSocket. */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { repoRoot, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { buildClientBundle, expectedScenario } from '../sdk/client-bundle.ts';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let dir: string;
let bundle: string;
let server: ServerProcess;

beforeAll(async () => {
  ({ dir, bundle } = await buildClientBundle());
  server = await startServerProcess();
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('runs X3DH, messages, backups and the push channel in a page served from the server origin', async () => {
  // Local Network Access checks would block the WebSocket of a page Playwright fulfils itself
  // (it has no network address space); a page the server itself served would not need this.
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-features=LocalNetworkAccessChecks'] });
  try {
    const page = await browser.newPage();
    const assets: Record<string, string> = {
      '/sdk-test/index.html': '<!doctype html><title>prekeyd sdk</title>',
      '/sdk-test/client.js': readFileSync(bundle, 'utf8'),
      '/sdk-test/runtime-scenario.js': readFileSync(join(repoRoot, 'test/sdk/runtime-scenario.js'), 'utf8'),
    };
    await page.route(`${server.url}/sdk-test/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      const body = assets[path];
      return body === undefined
        ? route.fulfill({ status: 404 })
        : route.fulfill({ status: 200, contentType: path.endsWith('.js') ? 'text/javascript' : 'text/html', body });
    });
    await page.goto(`${server.url}/sdk-test/index.html`);
    // A string, so that the test runner's module transform leaves the page's import() alone.
    const result = await page.evaluate(`(async () => {
      const sdk = await import('${server.url}/sdk-test/client.js');
      const { runScenario } = await import('${server.url}/sdk-test/runtime-scenario.js');
      return runScenario(sdk, { baseURL: '${server.url}', apiKey: '${masterKey}', suffix: 'browser' });
    })()`);
    expect(result).toEqual(expectedScenario);
  } finally {
    await browser.close();
  }
}, 90_000);
