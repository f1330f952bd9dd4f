/**
 * Property-based fuzzing of every route the OpenAPI document lists: arbitrary path params,
 * query strings, headers and bodies never produce a 5xx, and every error is in the envelope.
 * `npm run fuzz` runs it long (FUZZ_RUNS); the suite runs a short pass.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 25);

let t: TestApp;
let operations: Array<{ method: string; path: string; params: string[]; queryNames: string[]; bodyNames: string[] }>;

beforeAll(async () => {
  t = await createTestApp({ settings: { allowServerKeygen: true } });
  await t.call('POST', '/v1/keys/register', registration('fuzz_user', 50).body);
  const doc = (await t.call('GET', '/openapi.json')).body;
  operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => {
      const schemaRef: string | undefined = operation.requestBody?.content?.['application/json']?.schema?.$ref;
      const bodySchema = schemaRef ? doc.components.schemas[schemaRef.split('/').pop()!] : operation.requestBody?.content?.['application/json']?.schema;
      return {
        method: method.toUpperCase(),
        path,
        params: (operation.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name),
        queryNames: (operation.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name),
        bodyNames: Object.keys(bodySchema?.properties ?? {}),
      };
    }),
  );
});
afterAll(() => t.close());

const weirdText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    '',
    ' ',
    '..',
    '../etc/passwd',
    '%00',
    'fuzz_user',
    '*',
    'null',
    '-1',
    '1e999',
    'a'.repeat(300),
    '\u0000',
    '😀',
    "'; DROP TABLE key_sets; --",
  ),
);
const jsonValue = fc.oneof(fc.jsonValue(), weirdText, fc.constant(null), fc.integer(), fc.double(), fc.array(fc.jsonValue(), { maxLength: 200 }));

function bodyFor(names: string[]) {
  const shaped = fc.dictionary(fc.constantFrom(...(names.length > 0 ? names : ['x'])), jsonValue);
  return fc.oneof(
    shaped.map((object) => JSON.stringify(object)),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.string(),
    fc.constantFrom('{', '[]', 'null', '"', '{"userId":', '\u0000'),
  );
}

function expectEnvelope(status: number, body: string, where: string) {
  expect(status, where).toBeLessThan(500);
  if (status >= 400) {
    const parsed = JSON.parse(body);
    expect(parsed.success, where).toBe(false);
    expect(typeof parsed.error, where).toBe('string');
    expect(typeof parsed.errorCode, where).toBe('string');
  }
}

describe('fuzzing every documented route', () => {
  it('never answers 5xx and always uses the error envelope', async () => {
    expect(operations.length).toBeGreaterThan(10);
    let requests = 0;
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(
          fc.array(weirdText, { minLength: operation.params.length, maxLength: operation.params.length }),
          fc.dictionary(fc.constantFrom(...operation.queryNames, 'page', 'limit', 'x'), weirdText, { maxKeys: 4 }),
          bodyFor(operation.bodyNames),
          fc.record({
            token: fc.oneof(fc.constant(masterKey), fc.constant(masterKey), weirdText),
            contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined),
            project: fc.option(fc.oneof(weirdText, fc.constant('default')), { nil: undefined }),
          }),
          async (params, query, body, headers) => {
            let path = operation.path;
            operation.params.forEach((name, index) => {
              path = path.replace(`{${name}}`, encodeURIComponent(params[index]!) || 'x');
            });
            const search = new URLSearchParams(query as Record<string, string>).toString();
            const requestHeaders: Record<string, string> = {};
            if (/^[\x21-\x7e]*$/.test(headers.token)) requestHeaders.authorization = `Bearer ${headers.token}`;
            if (headers.contentType) requestHeaders['content-type'] = headers.contentType;
            if (headers.project !== undefined && /^[\x20-\x7e]*$/.test(headers.project)) requestHeaders['x-project-id'] = headers.project;
            const hasBody = !['GET', 'HEAD', 'DELETE'].includes(operation.method);
            const response = await t.app.request(`${path}${search ? `?${search}` : ''}`, {
              method: operation.method,
              headers: requestHeaders,
              body: hasBody ? body : undefined,
            });
            const text = await response.text();
            requests++;
            expectEnvelope(response.status, text, `${operation.method} ${path} ${text.slice(0, 200)}`);
          },
        ),
        { numRuns: runs },
      );
    }
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    console.log(`http-routes fuzz: ${requests} HTTP requests over ${operations.length} operations (FUZZ_RUNS=${runs})`);
  });
});
