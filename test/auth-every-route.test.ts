/**
 * Every operation of /openapi.json that declares an `x-prekeyd-action` passes the auth cases of
 * test/helpers/auth-cases.ts. Routes are discovered from the document, so a route added later
 * is covered without touching this file.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { actions } from '../src/domain/principal.ts';
import { createTestApp } from './helpers/app.ts';
import { expectAuthCases } from './helpers/auth-cases.ts';
import { registration } from './helpers/keys.ts';

const t = await createTestApp();
afterAll(() => t.close());

interface Operation {
  method: string;
  template: string;
  action: string | undefined;
  /** Routes any valid key may call (`GET /v1/whoami`): authenticated, no action. */
  anyKey: boolean;
  /** Transparency logs, read by witnesses and monitors without a key. */
  isPublic: boolean;
  security: unknown;
}

const document = (await t.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, Record<string, unknown>>> };
const httpMethods = new Set(['get', 'post', 'put', 'patch', 'delete']);
const operations: Operation[] = Object.entries(document.paths).flatMap(([template, item]) =>
  Object.entries(item)
    .filter(([method]) => httpMethods.has(method))
    .map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      action: operation['x-prekeyd-action'] as string | undefined,
      anyKey: operation['x-prekeyd-any-key'] === true,
      isPublic: operation['x-prekeyd-public'] === true,
      security: operation.security,
    })),
);
const protectedOperations = operations.filter((operation) => operation.action !== undefined);

/** Sample values for path parameters: plausible, but naming nothing that exists. */
const sampleParams: Record<string, string> = {
  userId: 'auth_case_user',
  identifier: 'auth_case_user',
  deviceId: '1',
  uid: 'key_doesnotexist',
  sessionId: 'sess_doesnotexist',
  id: 'pk_doesnotexist',
};
const concretePath = (template: string) => template.replace(/\{(\w+)\}/g, (_match, name: string) => sampleParams[name] ?? 'sample');

/** Valid bodies where we know them, so the key with the action reaches the domain; `{}` otherwise. */
const sampleBodies: Record<string, () => unknown> = {
  'POST /v1/keys/register': () => registration('auth_case_registered', 1).body,
  'POST /v1/api-keys': () => ({ projectId: 'default', acl: ['apiKeys.manage'], description: 'auth case' }),
  'PATCH /v1/api-keys/{uid}': () => ({ description: 'auth case' }),
  'PUT /v1/api-keys/{uid}': () => ({ description: 'auth case' }),
};
const bodyFor = ({ method, template }: Operation) => (method === 'GET' || method === 'DELETE' ? undefined : (sampleBodies[`${method} ${template}`]?.() ?? {}));

describe('the OpenAPI document', () => {
  it('declares an action on every /v1 and /v2 operation, and only known actions', () => {
    // Transparency logs are public by design (witnesses, monitors): documented with x-prekeyd-public.
    const versioned = operations.filter((operation) => /^\/v[12]\//.test(operation.template) && !operation.isPublic);
    expect(versioned.filter((operation) => operation.action === undefined && !operation.anyKey)).toEqual([]);
    expect(versioned.filter((operation) => operation.anyKey).every((operation) => JSON.stringify(operation.security).includes('bearerAuth'))).toBe(true);
    for (const operation of protectedOperations) expect(actions).toContain(operation.action);
    expect(protectedOperations.every((operation) => JSON.stringify(operation.security).includes('bearerAuth'))).toBe(true);
  });

  it('lists at least the key, bundle and api-key routes', () => {
    const names = protectedOperations.map((operation) => `${operation.method} ${operation.template}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /v1/keys/register',
        'GET /v1/keys/bundle/{userId}',
        'POST /v1/api-keys',
        'GET /v1/api-keys',
        'GET /v1/api-keys/{uid}',
        'PATCH /v1/api-keys/{uid}',
        'PUT /v1/api-keys/{uid}',
        'DELETE /v1/api-keys/{uid}',
      ]),
    );
  });
});

for (const operation of protectedOperations) {
  describe(`${operation.method} ${operation.template}`, () => {
    it(`refuses missing, unknown, expired and revoked keys (401) and keys without ${operation.action} (403)`, async () => {
      await expectAuthCases(t, {
        method: operation.method,
        path: concretePath(operation.template),
        action: operation.action!,
        body: bodyFor(operation),
      });
    });
  });
}
