/**
 * Attack: a key with `audit.read` asks for the verification of a long audit chain, and while the
 * whole chain is hashed every other tenant's request waits (the verification held the store for
 * its whole scan). Verification now reads the chain in pages, each in a short transaction, and
 * other requests are served between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/domain/audit.ts';
import { masterPrincipal } from '../../src/domain/principal.ts';
import type { Store } from '../../src/store/types.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { openTestStore, testBackend, type TestStore } from '../helpers/backend.ts';
import { registration } from '../helpers/keys.ts';

const entries = 20_000;
let opened: TestStore;
let t: TestApp;
let scans = 0;

/** Counts audit page reads, so the test knows a verification is under way. */
function countingScans(store: Store): Store {
  return {
    ...store,
    counters: store.counters,
    transaction: (fn) =>
      store.transaction((tx) => {
        const scan = tx.audit.scan.bind(tx.audit);
        return fn({ ...tx, audit: Object.assign(Object.create(tx.audit), { scan: (...args: Parameters<typeof scan>) => (scans++, scan(...args)) }) });
      }),
  };
}

beforeAll(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  opened = await openTestStore(testBackend, { path: join(mkdtempSync(join(tmpdir(), 'prekeyd-verify-')), 'prekeyd.db'), keep: false });
  const caller = { principal: masterPrincipal('long_chain'), projectId: 'long_chain', ipAddress: null };
  for (let done = 0; done < entries; done += 2000) {
    await opened.store.transaction(async (tx) => {
      for (let i = 0; i < 2000; i++) await appendAudit(tx, caller, new Date(), { action: 'KEY_VERIFIED', userId: `user_${done + i}` });
    });
  }
  t = await createTestApp({ store: countingScans(opened.store) });
}, 120_000);
afterAll(async () => {
  await t.close();
  await opened.dispose();
});

describe('audit verification does not block other tenants', () => {
  it("serves another project's requests while a long chain is verified", async () => {
    const { token } = await insertApiKey(t.store, { projectId: 'long_chain', acl: ['audit.read'] });
    const other = await insertApiKey(t.store, { projectId: 'bystander', acl: ['*'] });
    const order: string[] = [];
    scans = 0;
    const verification = t.call('GET', '/v1/keys/audit/verify', undefined, { token }).then((res) => {
      order.push('verify');
      return res;
    });
    while (scans === 0) await new Promise((resolve) => setImmediate(resolve));
    const served = t.call('POST', '/v1/keys/register', registration('bystander_user', 2).body, { token: other.token }).then((res) => {
      order.push('other');
      return res;
    });
    const [report, registered] = await Promise.all([verification, served]);
    expect(registered.status).toBe(201);
    expect(report.body.data).toMatchObject({ valid: true, entries });
    expect(order).toEqual(['other', 'verify']);
  });

  it('answers concurrent verifications of one project with one scan', async () => {
    const { token } = await insertApiKey(t.store, { projectId: 'long_chain', acl: ['audit.read'] });
    scans = 0;
    const reports = await Promise.all([1, 2, 3].map(() => t.call('GET', '/v1/keys/audit/verify', undefined, { token })));
    for (const report of reports) expect(report.body.data).toMatchObject({ valid: true, entries });
    const pages = scans;
    scans = 0;
    await t.call('GET', '/v1/keys/audit/verify', undefined, { token });
    expect(pages).toBe(scans);
  });
});
