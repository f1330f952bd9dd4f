/**
 * The operator console (/console) in headless Chromium against a spawned server with real data:
 * each view renders it, each action works end to end and is checked through the HTTP API
 * afterwards, the keyboard alone reaches every control, no request leaves 127.0.0.1 and no
 * console error is logged. Screenshots of each view go to test-artifacts/console/ (the CI
 * artifacts folder named in the README).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import {
  ApiClient,
  focusableControls,
  serveTransparencyLog,
  unmarked,
  launchChromium,
  screenshot,
  seedData,
  signIn,
  tabStops,
  type WatchedPage,
  watchedPage,
} from './console-page.ts';

let server: ServerProcess;
let browser: Browser;
let api: ApiClient;
let seeded: Awaited<ReturnType<typeof seedData>>;
let master: WatchedPage;
const watched: WatchedPage[] = [];

async function newWatchedPage() {
  const page = await watchedPage(browser, server.url);
  watched.push(page);
  return page;
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startServerProcess(), launchChromium()]);
  api = new ApiClient(server.url);
  seeded = await seedData(api);
  master = await newWatchedPage();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the operator console', () => {
  it('never uses a key found in the address: it is scrubbed and the operator warned', async () => {
    const { page } = master;
    await page.goto(`${server.url}/console?apiKey=${encodeURIComponent(seeded.readOnlyKey)}#/overview`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain("A key was in this page's address");
    expect(page.url()).not.toContain(seeded.readOnlyKey);
    expect(page.url()).not.toContain('apiKey');
    expect(await page.evaluate(() => JSON.stringify(sessionStorage))).not.toContain(seeded.readOnlyKey);
    await page.getByLabel('Master key or API key').waitFor(); // still asked to sign in
  });

  it('signs in with the master key (sessionStorage only) and shows the overview with the traffic chart', async () => {
    const { page } = master;
    await signIn(page, server.url, masterKey);
    expect(page.url()).not.toContain(masterKey);
    expect(await page.evaluate(() => document.cookie + JSON.stringify(localStorage))).not.toContain(masterKey);
    expect(await page.evaluate(() => JSON.stringify(sessionStorage))).toContain(masterKey);
    await expect.poll(() => page.locator('[data-figure="version"]').textContent()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await page.locator('[data-figure="storage"]').textContent()).toMatch(/embedded SQLite, [\d.]+ (B|KiB|MiB)/);
    expect(await page.locator('[data-figure="push"]').textContent()).toBe('0');
    expect(await page.locator('[data-figure="key-sets"]').textContent()).toMatch(/\d+ active · 1 suspended · 1 revoked/);
    expect(await page.locator('[data-figure="quota"]').textContent()).toContain('not limited');
    const chart = page.getByRole('img', { name: /Requests per minute/ });
    expect(await chart.getAttribute('aria-label')).toMatch(/[1-9]\d* requests/);
    expect(await page.locator('.chart rect.bar').count()).toBe(30);
    await screenshot(page, 'overview');
  });

  it('lists key sets: filter by status, search by prefix, sort and page', async () => {
    const { page } = master;
    await page.getByRole('link', { name: 'Key sets' }).click();
    const rows = page.locator('table[aria-label="Key sets"] tbody tr[data-user]');
    await expect.poll(() => rows.count()).toBe(20);
    expect(await page.getByText(/Page 1 of 2 \(24 in all\)/).count()).toBe(1);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => rows.count()).toBe(4);
    await page.getByLabel('Status').selectOption('suspended');
    await expect.poll(() => rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-user')))).toEqual(['bob']);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('User id starts with').fill('team_1');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('Sort by').selectOption('userId');
    await page.getByLabel('Order').selectOption('asc');
    await expect
      .poll(() => rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-user'))))
      .toEqual(Array.from({ length: 10 }, (_, i) => `team_1${i}`));
    await page.getByLabel('User id starts with').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('Sort by').selectOption('oneTimePreKeysRemaining');
    await page.getByLabel('Order').selectOption('desc');
    await expect.poll(() => rows.first().getAttribute('data-user')).toBe('alice'); // the laptop's 12
    await screenshot(page, 'key-sets');
  });

  it("shows a user's devices with pre-key levels against the low threshold, and rotation history", async () => {
    const { page } = master;
    await page.getByRole('link', { name: 'alice' }).first().click();
    await page.getByRole('heading', { name: 'User alice' }).waitFor();
    const phone = page.locator('[data-device="phone"]');
    const meter = phone.getByRole('meter');
    expect(await meter.getAttribute('aria-valuenow')).toBe('3');
    expect(await meter.getAttribute('aria-valuetext')).toContain('below the low threshold of 5');
    expect(await phone.locator('.level.low .threshold').count()).toBe(1);
    expect(await page.locator('[data-device="laptop"]').getByRole('meter').getAttribute('aria-valuenow')).toBe('12');
    const history = phone.getByRole('table', { name: 'Rotation history of device phone' }).locator('tbody tr td:first-child');
    expect(await history.allTextContents()).toEqual(['spk_rot_1', expect.stringMatching(/^spk_/)]);
    await screenshot(page, 'user');
  });

  it('suspends, unsuspends and revokes a device only after confirmation, as the API then shows', async () => {
    const { page } = master;
    const verify = async () => (await api.call('GET', '/v1/admin/users/alice/key-sets')).body.data.devices.find((d: any) => d.deviceId === 'laptop');
    await page.getByRole('button', { name: 'Suspend device laptop' }).click();
    const dialog = page.getByRole('dialog', { name: /Suspend alice \(device laptop\)/ });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await verify()).status).toBe('active'); // cancelled: nothing changed
    await page.getByRole('button', { name: 'Suspend device laptop' }).click();
    await dialog.getByLabel(/Reason/).fill('stolen bag');
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: 'Unsuspend device laptop' }).waitFor();
    expect(await verify()).toMatchObject({ status: 'suspended', statusReason: 'stolen bag' });
    await page.getByRole('button', { name: 'Unsuspend device laptop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Unsuspend' }).click();
    await page.getByRole('button', { name: 'Suspend device laptop' }).waitFor();
    expect((await verify()).status).toBe('active');
    await page.getByRole('button', { name: 'Revoke device laptop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.locator('[data-device="laptop"] .badge').textContent()).toBe('revoked');
    expect((await verify()).status).toBe('revoked');
    expect(await page.getByRole('button', { name: /device laptop/ }).count()).toBe(0); // revoked is final: no action left
  });

  it('filters the audit log and verifies the hash chain in the browser, with progress', async () => {
    const { page } = master;
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').selectOption('KEYS_SUSPENDED');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const actions = page.locator('table[aria-label="Audit entries"] tbody tr[data-action]');
    await expect.poll(() => actions.evaluateAll((all) => all.map((row) => row.getAttribute('data-action')))).toEqual(['KEYS_SUSPENDED', 'KEYS_SUSPENDED']);
    expect(await actions.first().textContent()).toContain('stolen bag');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verdict = page.locator('[data-verdict]');
    await verdict.waitFor();
    const server = (await api.call('GET', '/v1/keys/audit/verify')).body.data;
    expect(await verdict.getAttribute('data-verdict')).toBe('valid');
    expect(await verdict.textContent()).toContain('The server agrees');
    expect(await page.locator('progress').getAttribute('value')).toBe(String(server.entries));
    await screenshot(page, 'audit');
  });

  it('creates an API key shown once with a copy button, edits its ACL and patterns, and revokes it', async () => {
    const { page } = master;
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'Create API key' }).click();
    const editor = page.getByRole('dialog', { name: 'Create an API key' });
    await editor.getByLabel('Description').fill('support desk');
    await editor.getByLabel('keys.read', { exact: true }).check();
    await editor.getByLabel('audit.read', { exact: true }).check();
    await editor.getByLabel(/Users the key may act as/).fill('team_*');
    await editor.getByRole('button', { name: 'Create key' }).click();
    const once = page.getByRole('dialog', { name: 'Store this key now' });
    const secret = await once.getByLabel('New API key').inputValue();
    expect(secret).toMatch(/^pkd_/);
    await once.getByRole('button', { name: 'Copy key' }).click();
    await once.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await once.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByText(secret).count()).toBe(0); // never shown again

    const created = (await new ApiClient(server.url, secret).call('GET', '/v1/whoami')).body.data;
    expect(created).toMatchObject({ acl: ['keys.read', 'audit.read'], userIds: ['team_*'], description: 'support desk' });

    const row = page.locator(`tr[data-uid="${created.uid}"]`);
    await row.getByRole('button', { name: /^Edit/ }).click();
    const edit = page.getByRole('dialog', { name: 'Edit support desk' });
    await edit.getByLabel('events.subscribe', { exact: true }).check();
    await edit.getByLabel('audit.read', { exact: true }).uncheck();
    await edit.getByLabel(/Users the key may act as/).fill('team_*\nalice');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await api.call('GET', `/v1/api-keys/${created.uid}`)).body.data.acl).toEqual(['keys.read', 'events.subscribe']);
    expect((await api.call('GET', `/v1/api-keys/${created.uid}`)).body.data.userIds).toEqual(['team_*', 'alice']);
    await expect.poll(() => row.textContent()).toContain('keys.read, events.subscribe');
    await screenshot(page, 'api-keys');

    await row.getByRole('button', { name: /^Revoke/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    expect((await api.call('GET', `/v1/api-keys/${created.uid}`)).body.data.revoked).toBe(true);
    expect((await new ApiClient(server.url, secret).call('GET', '/v1/whoami')).status).toBe(401);
  });

  it('streams live events over the push channel (token only on the WebSocket upgrade)', async () => {
    const { page } = master;
    const upgrades: string[] = [];
    page.on('websocket', (socket) => upgrades.push(socket.url()));
    await page.getByRole('link', { name: 'Live events' }).click();
    await page.getByLabel(/Users to watch/).fill('team_03, team_04');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByText(/Watching team_03, team_04 from event/).waitFor();
    await api.call('GET', '/v1/keys/bundle/team_03');
    await api.call('POST', '/v1/keys/revoke', { userId: 'team_04', reason: 'test' });
    const events = page.locator('table[aria-label="Events, newest first"] tbody tr[data-event]');
    await expect
      .poll(() => events.evaluateAll((all) => all.map((row) => row.getAttribute('data-event'))))
      .toEqual(expect.arrayContaining(['prekeys.low', 'keys.revoked']));
    expect(upgrades).toHaveLength(1);
    expect(new URL(upgrades[0]!).pathname).toBe('/v1/events');
    expect(page.url()).not.toContain('access_token');
    await screenshot(page, 'events');
    await page.getByRole('button', { name: 'Disconnect' }).click();
  });

  it('says the transparency log is not available while the server has none', async () => {
    const { page } = master;
    await page.getByRole('link', { name: 'Transparency' }).click();
    await page.locator('[data-transparency="unavailable"]').waitFor();
  });

  it("shows a published checkpoint and its witnesses, and checks consistency and a leaf's inclusion in the browser", async () => {
    const { page } = master;
    let size = 5;
    const leafHashes = await serveTransparencyLog(page, server.url, 'default', () => size);
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: 'Transparency' }).click();
    const facts = page.locator('[data-transparency="checkpoint"]');
    await expect.poll(() => facts.textContent()).toContain('5 entries');
    expect(await page.getByRole('table', { name: 'Checkpoint signatures' }).locator('tbody tr').allTextContents()).toEqual([
      '127.0.0.1/prekeyd/defaultlog12345601',
      'witness.example/w1witness12345602',
    ]);
    size = 13; // the log grows; coming back checks the consistency proof from 5 to 13
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: 'Transparency' }).click();
    await page.getByText('Consistent with the checkpoint of 5 entries you saw before').waitFor();
    await page.getByLabel('Leaf hash (64 hex digits)').fill(leafHashes[9]!);
    await page.getByRole('button', { name: 'Check inclusion' }).click();
    await page.getByText('Leaf 9 of 13: included').waitFor();
    await page.getByLabel('Leaf hash (64 hex digits)').fill(leafHashes[20]!); // not in a tree of 13
    await page.getByRole('button', { name: 'Check inclusion' }).click();
    await page.getByText(/No leaf with that hash/).waitFor();
    await screenshot(page, 'transparency');
    await page.unroute(`${server.url}/v1/transparency/default/**`);
  });

  it("searches a user's key history in a server's real log, checked against the signed checkpoint in the browser", async () => {
    const logged = await startServerProcess({ args: ['--transparency', '--transparency-interval', '20ms'] });
    try {
      const logApi = new ApiClient(logged.url);
      const must = async (method: string, path: string, body?: unknown) => {
        const answer = await logApi.call(method, path, body);
        if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      };
      const phone = registration('alice', 2, { deviceId: 'phone' });
      await must('POST', '/v1/keys/register', phone.body);
      await must('POST', '/v1/keys/rotate', { userId: 'alice', deviceId: 'phone', newSignedPreKey: makeSignedPreKey(phone.identity, 'spk_2') });
      await must('POST', '/v1/keys/register', registration('bob', 2).body);
      await must('POST', '/v1/keys/register', registration('alice', 2, { deviceId: 'laptop' }).body);
      await must('POST', '/v1/keys/revoke', { userId: 'alice', deviceId: 'phone', reason: 'lost phone' });
      await must('POST', '/v1/keys/register', registration('alice', 2, { deviceId: 'phone' }).body); // a new identity key on the phone
      // Every change is a leaf; wait until a checkpoint covers all six (one per change, bob's included).
      const checkpointSize = async () => Number((await (await fetch(`${logged.url}/v1/transparency/default/checkpoint`)).text()).split('\n')[1]);
      await expect.poll(checkpointSize).toBe(6);

      const readOnly = await logApi.call('POST', '/v1/api-keys', { projectId: 'default', acl: ['keys.read'] });
      const limited = await watchedPage(browser, logged.url);
      watched.push(limited);
      await signIn(limited.page, logged.url, readOnly.body.data.key);
      await limited.page.getByRole('link', { name: 'Transparency' }).click();
      await limited.page.getByText("Searching a user's key history reads the log's entries, which needs a key with transparency.read.").waitFor();
      expect(await limited.page.getByRole('button', { name: 'Search the log' }).count()).toBe(0);

      const operator = await watchedPage(browser, logged.url);
      watched.push(operator);
      const { page } = operator;
      await signIn(page, logged.url, masterKey);
      await page.getByRole('link', { name: 'Transparency' }).click();
      await expect.poll(() => page.locator('[data-transparency="checkpoint"]').textContent()).toContain('6 entries');
      await page.getByLabel('User ID').fill('alice');
      await page.getByRole('button', { name: 'Search the log' }).click();
      await expect.poll(() => page.locator('[data-key-history="verdict"]').textContent()).toContain('5 of the 6 entries are alice');
      const rows = page.getByRole('table', { name: 'Key history of alice' }).locator('tbody tr');
      const cells = async () => await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      const table = await cells();
      expect(table.map(([index, , event, device]) => [index, event, device])).toEqual([
        ['0', 'registered', 'phone'],
        ['1', 'rotated', 'phone'],
        ['3', 'registered', 'laptop'],
        ['4', 'revoked', 'phone'],
        ['5', 'registered', 'phone'],
      ]);
      expect(table.map((row) => row[4]!.includes('new identity key'))).toEqual([false, false, false, false, true]);
      expect(table[1]![5]).toContain('spk_2');
      await screenshot(page, 'transparency-key-history');

      await page.getByLabel('User ID').fill('nobody');
      await page.getByRole('button', { name: 'Search the log' }).click();
      await expect.poll(() => page.locator('[data-key-history="verdict"]').textContent()).toContain('0 of the 6 entries are nobody');
      expect(await page.getByRole('table', { name: 'Key history of nobody' }).count()).toBe(0);
    } finally {
      await logged.stop();
    }
  });

  it('offers an API key only what its ACL allows', async () => {
    const limited = await newWatchedPage();
    await signIn(limited.page, server.url, seeded.readOnlyKey);
    const nav = limited.page.getByRole('navigation', { name: 'Views' }).getByRole('link');
    expect(await nav.allTextContents()).toEqual(['Overview', 'Key sets', 'Transparency']);
    await expect.poll(() => limited.page.locator('[data-figure="quota"]').textContent()).toMatch(/key API: .*of 200/);
    await nav.filter({ hasText: 'Key sets' }).click();
    await limited.page.locator('tr[data-user]').first().waitFor();
    expect(await limited.page.getByRole('button', { name: /^(Suspend|Unsuspend|Revoke)/ }).count()).toBe(0);
    await limited.page.goto(`${server.url}/console#/api-keys`); // typed by hand: falls back to a view it may use
    await limited.page.getByRole('heading', { name: 'Overview' }).waitFor();
    // The overview's own calls done first, so that the click below makes the next call (not one already in flight).
    await limited.page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
    // Revoked while signed in: the next call signs the console out, saying why.
    await api.call('PATCH', `/v1/api-keys/${seeded.readOnlyUid}`, { revoked: true });
    await nav.filter({ hasText: 'Key sets' }).click();
    await limited.page.getByText('The server no longer accepts the key you signed in with').waitFor();
    expect(await limited.page.evaluate(() => sessionStorage.length)).toBe(0);
    limited.errors.splice(0, limited.errors.length, ...limited.errors.filter((error) => !/status of 401/.test(error))); // the refused call itself
  });

  it('lets the master key switch projects, each showing only its own data', async () => {
    const { page } = master;
    await page.getByRole('link', { name: 'Key sets' }).click();
    await page.locator('tr[data-user]').first().waitFor();
    await page.getByLabel('Project', { exact: true }).fill('elsewhere');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.getByText('No key sets match.').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('prekeyd.console.session'))).toContain('"projectId":"elsewhere"');
    await page.getByLabel('Project', { exact: true }).fill('default');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.locator('tr[data-user]').first().waitFor();
  });

  it('is usable with the keyboard alone: Tab reaches every control of each view, Enter acts, Escape cancels', async () => {
    const keyboard = await newWatchedPage();
    const { page } = keyboard;
    await page.goto(`${server.url}/console`);
    await page.keyboard.press('Tab');
    await page.keyboard.type(masterKey);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    for (const view of ['overview', 'key-sets', 'key-sets/bob', 'audit', 'api-keys', 'events', 'transparency']) {
      await page.evaluate((hash) => (location.hash = hash), `#/${view}`);
      await page.locator('main h1').waitFor();
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]')); // the view's data is in
      const reached = await tabStops(page);
      const controls = await focusableControls(page);
      expect(reached.length, `${view}: ${reached.join(' | ')}`).toBeGreaterThan(0);
      expect(new Set(controls), view).toEqual(new Set(reached.map((stop) => stop.replace(/ \[no outline\]$/, ''))));
      expect(unmarked(reached), `${view}: controls without a visible focus outline`).toEqual([]);
    }
    // Act on bob with keys only: Tab to "Unsuspend device default", Enter, Escape cancels, again and confirm.
    await page.evaluate(() => (location.hash = '#/key-sets/bob'));
    const target = page.getByRole('button', { name: 'Unsuspend device default' });
    await target.waitFor();
    for (let i = 0; i < 40 && !(await target.evaluate((element) => element === document.activeElement)); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel'); // focus moved into the dialog
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await target.evaluate((element) => element === document.activeElement)).toBe(true); // focus back on the opener
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Unsuspend');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Suspend device default' }).waitFor();
    await expect.poll(async () => (await api.call('GET', '/v1/keys/verify/bob')).body).toMatchObject({ data: { status: 'active' } });
  });

  it('sent no request off 127.0.0.1 and logged no console error', () => {
    for (const page of watched) {
      expect(page.foreignRequests).toEqual([]);
      expect(page.errors).toEqual([]);
    }
  });
});
