/**
 * Helpers of the console's browser tests: real data seeded through the HTTP API, a Chromium page
 * that fails on any request to a host other than 127.0.0.1 and records every console error,
 * sign-in, and a keyboard walk that lists what Tab reaches.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { masterKey } from '../helpers/app.ts';
import { leafHash, mth, path, subproof } from '../helpers/merkle-reference.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';

export const artifactsDir = 'test-artifacts/console';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token = masterKey,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }
}

/** alice (phone: 3 pre-keys after two rotations, laptop: 12), bob (suspended), carol (revoked) and 20 team_NN users. */
export async function seedData(api: ApiClient) {
  const alicePhone = registration('alice', 6, { deviceId: 'phone', deviceName: 'Pixel' });
  const must = async (method: string, path: string, body?: unknown) => {
    const answer = await api.call(method, path, body);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  await must('POST', '/v1/keys/register', alicePhone.body);
  await must('POST', '/v1/keys/register', registration('alice', 12, { deviceId: 'laptop' }).body);
  for (const keyId of ['spk_rot_1', 'spk_rot_2']) {
    await must('POST', '/v1/keys/rotate', { userId: 'alice', deviceId: 'phone', newSignedPreKey: makeSignedPreKey(alicePhone.identity, keyId) });
  }
  for (let i = 0; i < 3; i++) await must('GET', '/v1/keys/bundle/alice?deviceId=phone');
  await must('POST', '/v1/keys/register', registration('bob', 8).body);
  await must('POST', '/v1/keys/suspend', { userId: 'bob', reason: 'under review' });
  await must('POST', '/v1/keys/register', registration('carol', 2).body);
  await must('POST', '/v1/keys/revoke', { userId: 'carol', reason: 'lost phone' });
  for (let i = 0; i < 20; i++) await must('POST', '/v1/keys/register', registration(`team_${String(i).padStart(2, '0')}`, 1 + (i % 7)).body);
  const readOnly = await must('POST', '/v1/api-keys', { projectId: 'default', acl: ['keys.read', 'metrics.read'], description: 'read-only desk' });
  return { readOnlyKey: readOnly.data.key as string, readOnlyUid: readOnly.data.uid as string };
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Requests to anything but 127.0.0.1 (each was aborted). */
  foreignRequests: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

/** A page that aborts and records every request off 127.0.0.1, and records console errors. */
export async function watchedPage(browser: Browser, origin: string): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await context.newPage();
  const foreignRequests: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    foreignRequests.push(url.href);
    return route.abort();
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // The transparency view asks for routes that may not exist (404 → "not available"); Chromium logs each failed load.
    if (/Failed to load resource: the server responded with a status of 404/.test(message.text()) && message.location().url.includes('/v1/transparency/'))
      return;
    errors.push(`${message.text()} @ ${message.location().url}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return { page, context, foreignRequests, errors };
}

export async function signIn(page: Page, origin: string, token: string, projectId = 'default') {
  await page.goto(`${origin}/console`);
  await page.getByLabel('Master key or API key').fill(token);
  await page.getByLabel('Project (master key only)').fill(projectId);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Views' }).waitFor();
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
}

/**
 * Presses Tab until focus leaves the page or comes back round; describes each element reached,
 * in order (marked when it shows no focus outline). A focusin listener records the stops, so
 * each press costs one round trip.
 */
export async function tabStops(page: Page, limit = 120): Promise<string[]> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    const stops: string[] = [];
    (window as unknown as { tabStops: string[] }).tabStops = stops;
    document.addEventListener('focusin', (event) => {
      const element = event.target as HTMLElement;
      const label = element.getAttribute('aria-label') ?? element.textContent?.trim() ?? '';
      const named = element.closest('label')?.textContent?.trim() ?? '';
      const outlined = getComputedStyle(element).outlineStyle !== 'none';
      stops.push(`${element.tagName.toLowerCase()}:${(label || named).replace(/\s+/g, ' ').slice(0, 80)}${outlined ? '' : ' [no outline]'}`);
    });
  });
  const count = await page.evaluate(() => document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]').length);
  // Date inputs take a Tab per field (day, month, year): a few presses more than there are controls.
  for (let i = 0; i <= Math.min(limit, count + 10); i++) await page.keyboard.press('Tab');
  const stops = await page.evaluate(() => (window as unknown as { tabStops: string[] }).tabStops);
  const wrapped = stops.indexOf(stops[0]!, 1);
  return wrapped > 0 ? stops.slice(0, wrapped) : stops;
}

/** The tab stops that showed no focus outline. */
export const unmarked = (stops: string[]) => stops.filter((stop) => stop.endsWith(' [no outline]'));

/** Every enabled, visible control of the page, described the way tabStops describes them. */
export function focusableControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
      .filter((element) => !(element as HTMLButtonElement).disabled && element.getClientRects().length > 0 && !element.closest('[inert]'))
      .filter((element) => !(element instanceof HTMLInputElement && element.type === 'radio' && !element.checked))
      .map((element) => {
        const label = element.getAttribute('aria-label') ?? element.textContent?.trim() ?? '';
        const named = element.closest('label')?.textContent?.trim() ?? '';
        return `${element.tagName.toLowerCase()}:${(label || named).replace(/\s+/g, ' ').slice(0, 80)}`;
      }),
  );
}

/**
 * Serves `/v1/transparency/<project>/…` for a page (checkpoint, key, proofs) from a tree of
 * `size()` leaves built here, in the formats branch i18's routes publish, so that the view is
 * tested against real proofs before the server has a log. Returns the leaves' hashes (hex).
 */
export async function serveTransparencyLog(page: Page, origin: string, projectId: string, size: () => number): Promise<string[]> {
  const leaves = Array.from({ length: 32 }, (_, i) => new TextEncoder().encode(`prekeyd/leaf/v1\nproject ${projectId}\nleaf ${i}\n`));
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const signature = (keyId: number) => base64(Uint8Array.from([0x12, 0x34, 0x56, keyId, ...new Uint8Array(64).fill(7)]));
  const origin_ = `127.0.0.1/prekeyd/${projectId}`;
  const note = (n: number) => `${origin_}\n${n}\n${base64(mth(leaves.slice(0, n)))}\n\n— ${origin_} ${signature(1)}\n— witness.example/w1 ${signature(2)}\n`;
  await page.route(`${origin}/v1/transparency/${projectId}/**`, (route) => {
    const url = new URL(route.request().url());
    const n = size();
    const json = (data: unknown) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, data }) });
    if (url.pathname.endsWith('/checkpoint')) return route.fulfill({ status: 200, contentType: 'text/plain; charset=utf-8', body: note(n) });
    if (url.pathname.endsWith('/key')) return route.fulfill({ status: 200, contentType: 'text/plain', body: `${origin_}+12345601+AQ==\n` });
    if (url.pathname.endsWith('/proof/consistency')) {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      return json({ from, to, consistencyProof: subproof(from, leaves.slice(0, to), true).map(base64), checkpoint: note(to) });
    }
    if (url.pathname.endsWith('/proof/inclusion')) {
      const treeSize = Number(url.searchParams.get('size') ?? n);
      const index = leaves.slice(0, treeSize).findIndex((leaf) => Buffer.from(leafHash(leaf)).toString('hex') === url.searchParams.get('hash'));
      if (index < 0)
        return route.fulfill({
          status: 404,
          contentType: 'application/json',
          body: JSON.stringify({ success: false, error: 'No leaf with that hash', errorCode: 'NOT_FOUND' }),
        });
      return json({ leafIndex: index, treeSize, inclusionProof: path(index, leaves.slice(0, treeSize)).map(base64), checkpoint: note(treeSize) });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  return leaves.map((leaf) => Buffer.from(leafHash(leaf)).toString('hex'));
}
