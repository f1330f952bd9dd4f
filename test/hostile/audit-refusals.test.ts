/**
 * Attack: an authenticated key holder probes the API (bad bodies, forged signatures, users it may
 * not act as, actions it lacks) and leaves no trace in the audit log. Every refusal of an
 * authenticated caller is audited (FAILURE, errorCode, never the body); 401s and 429s, and
 * refusals past a per-key budget, are counted instead and summarised, so the log cannot be flooded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

let t: TestApp;
beforeAll(async () => {
  // Real time, but starting on a minute boundary: the refusal budget is per clock minute, and a
  // test that crossed one would get two budgets.
  const started = Date.now();
  const base = Math.floor(started / 60_000) * 60_000;
  t = await createTestApp({ http: { rateLimitKeys: 5 }, clock: { now: () => new Date(base + (Date.now() - started)) } });
});
afterAll(() => t.close());

async function entriesOf(projectId: string) {
  const res = await t.call('GET', '/v1/keys/audit?limit=100', undefined, { headers: { 'x-project-id': projectId } });
  return res.body.data as any[];
}

describe('refusals of an authenticated caller are audited', () => {
  it('validation errors, bad signatures, act-as and permission refusals each leave a FAILURE entry', async () => {
    const projectId = 'refusals_each';
    const { token, uid } = await insertApiKey(t.store, { projectId, acl: ['keys.register', 'bundles.fetch'], userIds: ['own_*'] });
    const good = registration('own_alice');
    const badBody = { ...good.body, identityKey: 'zz-not-hex-secret-looking-value' };
    expect((await t.call('POST', '/v1/keys/register', badBody, { token })).body.errorCode).toBe('VALIDATION_ERROR');
    const forged = { ...good.body, signedPreKey: { ...good.body.signedPreKey, signature: 'ab'.repeat(64) } };
    expect((await t.call('POST', '/v1/keys/register', forged, { token })).body.errorCode).toBe('INVALID_SIGNATURE');
    const otherUser = registration('someone_else').body;
    expect((await t.call('POST', '/v1/keys/register', otherUser, { token })).body.errorCode).toBe('FORBIDDEN');
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'own_alice' }, { token })).body.errorCode).toBe('FORBIDDEN');
    expect((await t.call('GET', '/v1/api-keys', undefined, { token })).body.errorCode).toBe('FORBIDDEN');

    const failures = (await entriesOf(projectId)).filter((entry) => entry.status === 'FAILURE').reverse();
    expect(failures.map((entry) => [entry.action, entry.details.errorCode, entry.actor])).toEqual([
      ['KEYS_REGISTERED', 'VALIDATION_ERROR', uid],
      ['KEYS_REGISTERED', 'INVALID_SIGNATURE', uid],
      ['KEYS_REGISTERED', 'FORBIDDEN', uid],
      ['KEYS_REVOKED', 'FORBIDDEN', uid],
      ['REQUEST_REFUSED', 'FORBIDDEN', uid],
    ]);
    expect(failures[0].details).toMatchObject({ route: 'POST /v1/keys/register', fields: ['identityKey'] });
    expect(failures[2].userId).toBe('someone_else');
    // Never the body or key material.
    const stored = JSON.stringify(failures);
    expect(stored).not.toContain('zz-not-hex-secret-looking-value');
    expect(stored).not.toContain(good.body.signedPreKey.publicKey);
    expect(stored).not.toContain(good.body.identityKey);
  });

  it('401s and 429s are not audited one by one but counted in a periodic summary per project', async () => {
    const projectId = 'refusals_counted';
    const { token, uid } = await insertApiKey(t.store, { projectId, acl: ['keys.read'] });
    const revoked = await insertApiKey(t.store, { projectId, revoked: true });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await t.call('GET', '/v1/keys/verify/nobody_here', undefined, { token })).status);
    expect(statuses.filter((status) => status === 429)).toHaveLength(7);
    for (let i = 0; i < 20; i++) expect((await t.call('GET', '/v1/keys/list', undefined, { token: revoked.token })).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await t.call('GET', '/v1/keys/list', undefined, { token: 'pkd_unknown_token' })).status).toBe(401);

    const before = await entriesOf(projectId);
    expect(before.filter((entry) => entry.details.errorCode === 'RATE_LIMITED' || entry.details.errorCode === 'UNAUTHORIZED')).toEqual([]);
    await t.deps.refusals!.flush();
    const summaries = (await entriesOf(projectId)).filter((entry) => entry.action === 'REFUSALS_SUMMARY');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ status: 'FAILURE', actor: 'system', details: { unauthorized: { [revoked.uid]: 20 }, rateLimited: { [uid]: 7 } } });
    await t.deps.refusals!.flush(); // nothing new: no entry
    expect((await entriesOf(projectId)).filter((entry) => entry.action === 'REFUSALS_SUMMARY')).toHaveLength(1);
  });

  it('one key cannot flood the log with refusals: past a budget they are only counted', async () => {
    const projectId = 'refusals_flood';
    const { token, uid } = await insertApiKey(t.store, { projectId, acl: ['keys.read'] });
    for (let i = 0; i < 150; i++) await expectError(await t.call('GET', '/v1/api-keys', undefined, { token }), 403, 'FORBIDDEN');
    const individual = (await entriesOf(projectId)).filter((entry) => entry.action === 'REQUEST_REFUSED');
    expect(individual.length).toBeLessThanOrEqual(60);
    expect(individual.length).toBeGreaterThan(0);
    await t.deps.refusals!.flush();
    const [summary] = (await entriesOf(projectId)).filter((entry) => entry.action === 'REFUSALS_SUMMARY');
    expect(summary.details.notAudited[uid]).toEqual({ FORBIDDEN: 150 - individual.length });
  });
});
