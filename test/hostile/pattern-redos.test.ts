/**
 * Attack: an `apiKeys.manage` key limited to `team_*` grants `team_*a*a*…*b`, then acts as
 * `team_` + 123 × `a`. A backtracking RegExp built from the pattern took seconds (4 wildcards)
 * to forever (14) and stalled every other client. Now such a pattern is refused at creation and
 * update, and a stored one (from before the caps) still matches in linear time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbPath, removeDir, seedApiKeys, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const evilPattern = `team_${'*a'.repeat(14)}*b`;
const evilUser = `team_${'a'.repeat(123)}`;

describe('userIds pattern blow-up', () => {
  let server: ServerProcess;
  let dir: string;
  let manager: string;
  let legacy: string;

  beforeAll(async () => {
    ({ dir } = createDbPath());
    const dbPath = `${dir}/db`;
    // The legacy key was stored before the caps existed: it must still be served, quickly.
    [manager, legacy] = (await seedApiKeys(dbPath, [
      { acl: ['apiKeys.manage', 'keys.revoke'], userIds: ['team_*'] },
      { acl: ['keys.revoke'], userIds: [evilPattern] },
    ])) as [string, string];
    server = await startServerProcess({ dbPath });
  });

  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  const post = (path: string, token: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });

  it('refuses a pattern with too many wildcards at creation and update (VALIDATION_ERROR)', async () => {
    const created = await post('/v1/api-keys', manager, { projectId: 'default', acl: ['keys.revoke'], userIds: [evilPattern] });
    expect(created.status).toBe(400);
    expect((await created.json()).errorCode).toBe('VALIDATION_ERROR');

    const fine = await post('/v1/api-keys', manager, { projectId: 'default', acl: ['keys.revoke'], userIds: ['team_a*'] });
    expect(fine.status).toBe(201);
    const { uid } = (await fine.json()).data;
    const patched = await fetch(`${server.url}/v1/api-keys/${uid}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${manager}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userIds: [evilPattern] }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(patched.status).toBe(400);
    expect((await patched.json()).errorCode).toBe('VALIDATION_ERROR');
  });

  it('keeps serving others while a stored many-wildcard pattern is matched', async () => {
    const started = performance.now();
    const evil = post('/v1/keys/revoke', legacy, { userId: evilUser });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Sent while the match runs: answered only if the event loop is not stuck in it.
    const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    expect(health.status).toBe(200);
    const answer = await evil;
    expect(answer.status).toBe(403);
    expect((await answer.json()).errorCode).toBe('FORBIDDEN');
    // Generous for a loaded 2-core machine; the backtracking match took seconds to forever.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
