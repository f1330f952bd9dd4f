/**
 * /docs in headless Chromium with every request to anything but 127.0.0.1 blocked: the page
 * must render the route list from scripts prekeyd serves itself. A screenshot is kept in
 * test-artifacts/docs.png.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  server = await startServerProcess();
  browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

it('renders the route list with the network to anything but 127.0.0.1 blocked', async () => {
  const page = await browser.newPage();
  const blocked: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  const failed: string[] = [];
  page.on('requestfailed', (request) => failed.push(request.url()));
  await page.goto(`${server.url}/docs`);
  await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
  const paths = await page.$$eval('.opblock-summary-path', (elements) => elements.map((element) => element.textContent?.trim()));
  for (const path of ['/v1/keys/register', '/v1/keys/bundle/{userId}', '/v1/keys/rotate', '/v1/api-keys', '/healthz']) {
    expect(paths).toContain(path);
  }
  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: 'test-artifacts/docs.png', fullPage: false });
  expect(failed.filter((url) => url.startsWith(server.url))).toEqual([]);
  expect(blocked).toEqual([]);
});
