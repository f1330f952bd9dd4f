/**
 * The auth cases every protected route must pass (SPEC §2): no key, an unknown key, an expired
 * key and a revoked key → 401 UNAUTHORIZED; a key holding every action but the route's → 403
 * FORBIDDEN; a key holding exactly the route's action gets past auth (neither 401 nor 403) —
 * for routes that need `*` that key is the master key, since such routes may be master-only.
 *
 * @example
 * await expectAuthCases(t, { method: 'POST', path: '/v1/keys/register', action: 'keys.register', body: {} });
 */
import { expect } from 'vitest';
import { generateApiKey } from '../../src/crypto/api-key-format.ts';
import { actions } from '../../src/domain/principal.ts';
import { insertApiKey } from './api-key.ts';
import { masterKey, type TestApp, type TestResponse } from './app.ts';

export interface RouteCase {
  method: string;
  /** A concrete path (parameters already substituted). */
  path: string;
  action: string;
  /** Sent as JSON with every case; the auth outcome must not depend on it. */
  body?: unknown;
}

export interface AuthCaseResults {
  noKey: TestResponse;
  unknownKey: TestResponse;
  malformedKey: TestResponse;
  expiredKey: TestResponse;
  revokedKey: TestResponse;
  withoutAction: TestResponse;
  withAction: TestResponse;
}

/** `/v2` is Signal's API: its clients send Basic `identifier.deviceId:<key>`; everything else sends Bearer. */
function credentials(path: string, token: string | null): { token: string | null; headers: Record<string, string> } {
  if (token === null || !path.startsWith('/v2/')) return { token, headers: {} };
  return { token: null, headers: { authorization: `Basic ${btoa(`auth_case_user.1:${token}`)}` } };
}

const keyCache = new WeakMap<TestApp, Map<string, string>>();

/** Keys are made once per app and reused across routes. */
async function keyFor(t: TestApp, name: string, make: () => Promise<{ token: string }>): Promise<string> {
  let keys = keyCache.get(t);
  if (!keys) keyCache.set(t, (keys = new Map()));
  let token = keys.get(name);
  if (token === undefined) {
    token = (await make()).token;
    keys.set(name, token);
  }
  return token;
}

export async function runAuthCases(t: TestApp, route: RouteCase): Promise<AuthCaseResults> {
  const send = (token: string | null) => {
    const { token: bearer, headers } = credentials(route.path, token);
    return t.call(route.method, route.path, route.body, { token: bearer, headers });
  };
  const past = new Date(Date.now() - 60_000).toISOString();
  const expired = await keyFor(t, 'expired', () => insertApiKey(t.store, { acl: ['*'], expiresAt: past }));
  const revoked = await keyFor(t, 'revoked', () => insertApiKey(t.store, { acl: ['*'], revoked: true }));
  const otherActions = actions.filter((action) => action !== route.action && action !== '*');
  const withoutAction = await keyFor(t, `without:${route.action}`, () => insertApiKey(t.store, { acl: otherActions }));
  // A route that needs `*` may be reserved to the master key (e.g. admin routes): the master key holds `*` for sure.
  const withAction = route.action === '*' ? masterKey : await keyFor(t, `with:${route.action}`, () => insertApiKey(t.store, { acl: [route.action] }));
  return {
    noKey: await send(null),
    unknownKey: await send(generateApiKey().key),
    malformedKey: await send('not-a-key'),
    expiredKey: await send(expired),
    revokedKey: await send(revoked),
    withoutAction: await send(withoutAction),
    withAction: await send(withAction),
  };
}

/** Runs the cases and asserts each outcome, naming the route and the case on failure. */
export async function expectAuthCases(t: TestApp, route: RouteCase): Promise<AuthCaseResults> {
  const results = await runAuthCases(t, route);
  const name = `${route.method} ${route.path}`;
  for (const unauthorized of ['noKey', 'unknownKey', 'malformedKey', 'expiredKey', 'revokedKey'] as const) {
    const { status, body } = results[unauthorized];
    expect({ case: unauthorized, status, errorCode: body?.errorCode }, name).toEqual({ case: unauthorized, status: 401, errorCode: 'UNAUTHORIZED' });
  }
  const denied = results.withoutAction;
  expect({ status: denied.status, errorCode: denied.body?.errorCode }, `${name} without ${route.action}`).toEqual({
    status: 403,
    errorCode: 'FORBIDDEN',
  });
  expect([401, 403], `${name} with ${route.action} got ${results.withAction.status} ${JSON.stringify(results.withAction.body)}`).not.toContain(
    results.withAction.status,
  );
  return results;
}
