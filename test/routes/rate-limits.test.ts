import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';
import { expectError } from '../helpers/errors.ts';

function fakeClock(start: string) {
  let now = Date.parse(start);
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const minuteMs = 60_000;
const header = (res: { headers: Headers }, name: string) => res.headers.get(name);

describe('request rate limits per API key (SPEC §3)', () => {
  // Starts at a minute boundary, where the fixed windows begin.
  const clock = fakeClock('2026-03-08T10:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock, http: { rateLimitKeys: 200, rateLimitBundle: 100 } });
    await t.call('POST', '/v1/keys/register', registration('rl_target', 100).body);
  });
  afterAll(() => t.close());

  it('answers the 101st bundle fetch within a minute with 429, Retry-After and RateLimit-* headers; a new minute resets it', async () => {
    const { token } = await insertApiKey(t.store, { acl: ['bundles.fetch', 'keys.read'] });
    for (let i = 1; i <= 100; i++) {
      const res = await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token });
      expect(res.status).toBe(200);
      expect(header(res, 'RateLimit-Limit')).toBe('100');
      expect(header(res, 'RateLimit-Remaining')).toBe(String(100 - i));
      expect(header(res, 'RateLimit-Reset')).toBe('60');
      expect(header(res, 'Retry-After')).toBeNull();
    }
    clock.advance(45_000);
    const limited = await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ success: false, error: expect.stringContaining('Rate limit'), errorCode: 'RATE_LIMITED' });
    expect(header(limited, 'Retry-After')).toBe('15');
    expect(header(limited, 'RateLimit-Limit')).toBe('100');
    expect(header(limited, 'RateLimit-Remaining')).toBe('0');
    expect(header(limited, 'RateLimit-Reset')).toBe('15');

    // the bundle limit is its own: other /v1/keys calls of the key still pass (keys bucket at 101 of 200)
    const verify = await t.call('GET', '/v1/keys/verify/rl_target', undefined, { token });
    expect(verify.status).toBe(200);
    expect(header(verify, 'RateLimit-Limit')).toBe('200');
    expect(header(verify, 'RateLimit-Remaining')).toBe('98');

    // another key has its own budget
    const { token: other } = await insertApiKey(t.store, { acl: ['bundles.fetch'] });
    expect((await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token: other })).status).toBe(200);

    clock.advance(15_000);
    const fresh = await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token });
    expect(fresh.status).toBe(200);
    expect(header(fresh, 'RateLimit-Remaining')).toBe('99');
    expect(header(fresh, 'RateLimit-Reset')).toBe('60');
  });

  it('answers the 201st /v1/keys call within a minute with 429, counting bundle fetches too', async () => {
    clock.advance(minuteMs);
    const { token } = await insertApiKey(t.store, { acl: ['bundles.fetch', 'keys.read', 'audit.read'] });
    for (let i = 0; i < 50; i++) expect((await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token })).status).toBe(200);
    for (let i = 0; i < 150; i++) {
      const path = i % 2 === 0 ? '/v1/keys/verify/rl_target' : '/v1/keys/audit?limit=1';
      expect((await t.call('GET', path, undefined, { token })).status).toBe(200);
    }
    const limited = await t.call('GET', '/v1/keys/list', undefined, { token });
    expect(limited.status).toBe(429);
    expect(limited.body.errorCode).toBe('RATE_LIMITED');
    expect(header(limited, 'RateLimit-Limit')).toBe('200');
    expect(header(limited, 'Retry-After')).toBe('60');
    const bundle = await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token });
    await expectError(bundle, 429, 'RATE_LIMITED');
    clock.advance(minuteMs);
    expect((await t.call('GET', '/v1/keys/list', undefined, { token })).status).toBe(200);
  });

  it('counts refused requests too, so hammering does not reopen the window early', async () => {
    clock.advance(minuteMs);
    const { token } = await insertApiKey(t.store, { acl: ['bundles.fetch'] });
    for (let i = 0; i < 100; i++) await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token });
    for (let i = 0; i < 3; i++) await expectError(await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token }), 429, 'RATE_LIMITED');
    clock.advance(59_999);
    await expectError(await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token }), 429, 'RATE_LIMITED');
    clock.advance(1);
    expect((await t.call('GET', '/v1/keys/bundle/rl_target', undefined, { token })).status).toBe(200);
  });

  it('does not limit the master key, nor send it RateLimit headers', async () => {
    clock.advance(minuteMs);
    for (let i = 0; i < 110; i++) {
      const res = await t.call('GET', '/v1/keys/bundle/rl_target');
      expect(res.status).toBe(200);
      expect(header(res, 'RateLimit-Limit')).toBeNull();
    }
  });

  it('is off when configured to 0', async () => {
    const unlimited = await createTestApp({ http: { rateLimitKeys: 0, rateLimitBundle: 0 } });
    try {
      await unlimited.call('POST', '/v1/keys/register', registration('rl_off', 1).body);
      const { token } = await insertApiKey(unlimited.store, { acl: ['bundles.fetch'] });
      for (let i = 0; i < 110; i++) expect((await unlimited.call('GET', '/v1/keys/bundle/rl_off', undefined, { token })).status).toBe(200);
    } finally {
      await unlimited.close();
    }
  });
});

describe('drain protection: one-time pre-keys one API key may consume of one user a minute', () => {
  const clock = fakeClock('2026-03-08T10:00:00.000Z');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock, settings: { drainLimitPerMinute: 3 } });
    await t.call('POST', '/v1/keys/register', registration('drain_target', 20).body);
    await t.call('POST', '/v1/keys/register', registration('drain_other', 5).body);
  });
  afterAll(() => t.close());

  const remaining = async (userId: string) => (await t.call('GET', `/v1/keys/verify/${userId}`)).body.data.oneTimePreKeysRemaining;
  const fetch = (userId: string, token?: string) => t.call('GET', `/v1/keys/bundle/${userId}`, undefined, { token });

  it('serves bundles past the limit without consuming, with oneTimePreKey null and the warning', async () => {
    const { token } = await insertApiKey(t.store, { acl: ['bundles.fetch'] });
    const taken = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch('drain_target', token);
      expect(res.body.data.warning).toBeUndefined();
      taken.push(res.body.data.oneTimePreKey.keyId);
    }
    expect(new Set(taken).size).toBe(3);
    expect(await remaining('drain_target')).toBe(17);

    for (let i = 0; i < 2; i++) {
      const res = await fetch('drain_target', token);
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ oneTimePreKey: null, remainingOneTimePreKeys: 17, warning: expect.stringMatching(/forward secrecy/) });
    }
    expect(await remaining('drain_target')).toBe(17);
    const consumed = (await t.call('GET', '/v1/keys/audit?userId=drain_target&action=PREKEY_CONSUMED')).body.pagination.total;
    expect(consumed).toBe(3);

    // per target user and per key: the same key may still take another user's keys, another key this user's
    expect((await fetch('drain_other', token)).body.data.oneTimePreKey).not.toBeNull();
    const { token: second } = await insertApiKey(t.store, { acl: ['bundles.fetch'] });
    expect((await fetch('drain_target', second)).body.data.oneTimePreKey).not.toBeNull();
    // the master key is exempt
    for (let i = 0; i < 4; i++) expect((await fetch('drain_target')).body.data.oneTimePreKey).not.toBeNull();
    expect(await remaining('drain_target')).toBe(12);

    clock.advance(minuteMs);
    expect((await fetch('drain_target', token)).body.data.oneTimePreKey).not.toBeNull();
    expect(await remaining('drain_target')).toBe(11);
  });

  it('is off when configured to 0', async () => {
    const open = await createTestApp({ settings: { drainLimitPerMinute: 0 } });
    try {
      await open.call('POST', '/v1/keys/register', registration('drain_off', 10).body);
      const { token } = await insertApiKey(open.store, { acl: ['bundles.fetch'] });
      for (let i = 0; i < 10; i++) {
        expect((await open.call('GET', '/v1/keys/bundle/drain_off', undefined, { token })).body.data.oneTimePreKey).not.toBeNull();
      }
    } finally {
      await open.close();
    }
  });
});
