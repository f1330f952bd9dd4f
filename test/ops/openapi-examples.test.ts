/**
 * /openapi.json documents every operation with examples (the seeds' samples, made valid), and
 * the examples cannot drift from validation: each one parses with the very zod schema that
 * validates the request or shapes the answer (taken from the app's OpenAPI registry, which is
 * what the routes validate with), and the request examples of the seed flows are sent through
 * the app, which must accept them with the documented status and an answer shaped like the
 * documented one. Operations are discovered from the document, so a route added later without
 * examples fails here.
 */
import { type RouteConfig, z } from '@hono/zod-openapi';
import { validate } from '@scalar/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyBody, updateApiKeyBody } from '../../src/routes/api-keys/schemas.ts';
import { generateBody, importBody } from '../../src/routes/public-keys/schemas.ts';
import { checkKeysBody, setKeysBody } from '../../src/routes/signal-v2/schemas.ts';
import { backupBody, recoverBody } from '../../src/routes/v1-keys/backup-schemas.ts';
import { registerBody, revokeBody, rotateBody, suspendBody, unsuspendBody } from '../../src/routes/v1-keys/schemas.ts';
import { sharedSecretBody } from '../../src/routes/v1-keys/session-schemas.ts';
import { createTestApp, type TestApp, type TestResponse } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';

interface SchemaObject {
  $ref?: string;
  example?: unknown;
  examples?: unknown[];
}
interface MediaType {
  schema?: SchemaObject;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  example?: unknown;
  schema?: SchemaObject;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, SchemaObject> };
}

const json = 'application/json';
const httpMethods = new Set(['get', 'post', 'put', 'patch', 'delete']);

let t: TestApp;
let doc: OpenApiDocument;
let operations: { method: string; path: string; operation: Operation }[];

beforeAll(async () => {
  t = await createTestApp({ settings: { allowServerKeygen: true } });
  const res = await t.call('GET', '/openapi.json', undefined, { token: null });
  expect(res.status).toBe(200);
  doc = res.body;
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.has(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
});
afterAll(() => t.close());

const resolve = (schema: SchemaObject | undefined): SchemaObject | undefined =>
  schema?.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;

/** The example a reader (or Swagger UI's "Try it out") gets for a media type, wherever it is declared. */
function mediaExample(media: MediaType | undefined): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const named = media.examples && Object.values(media.examples)[0];
  if (named?.value !== undefined) return named.value;
  const schema = resolve(media.schema);
  return schema?.example ?? schema?.examples?.[0];
}

const parameterExample = (parameter: Parameter): unknown => parameter.example ?? resolve(parameter.schema)?.example;

const successStatuses = (operation: Operation) => Object.keys(operation.responses).filter((status) => status.startsWith('2'));

function operationOf(method: string, path: string): Operation {
  const operation = doc.paths[path]?.[method];
  if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  return operation;
}

function examplesOf(operation: Operation, where: Parameter['in']): Record<string, unknown> {
  const parameters = (operation.parameters ?? []).filter((parameter) => parameter.in === where);
  return Object.fromEntries(
    parameters.flatMap((parameter) => {
      const example = parameterExample(parameter);
      return example === undefined ? [] : [[parameter.name, example]];
    }),
  );
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const { valid, errors } = await validate(structuredClone(doc));
    expect(errors).toEqual([]);
    expect(valid).toBe(true);
    expect(operations.length).toBeGreaterThanOrEqual(30);
  });

  it('gives every JSON request body, 2xx JSON answer and path parameter an example', () => {
    const missing: string[] = [];
    let bodies = 0;
    let answers = 0;
    for (const { method, path, operation } of operations) {
      const name = `${method.toUpperCase()} ${path}`;
      const body = operation.requestBody?.content[json];
      if (body) {
        bodies++;
        if (mediaExample(body) === undefined) missing.push(`${name} request body`);
      }
      for (const status of successStatuses(operation)) {
        const answer = operation.responses[status]!.content?.[json];
        if (!answer) continue;
        answers++;
        if (mediaExample(answer) === undefined) missing.push(`${name} ${status} answer`);
      }
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && parameterExample(parameter) === undefined) missing.push(`${name} path parameter ${parameter.name}`);
      }
    }
    expect(missing).toEqual([]);
    expect(bodies).toBeGreaterThanOrEqual(15);
    expect(answers).toBeGreaterThanOrEqual(25);
  });
});

describe('every example parses with the zod schema of its route', () => {
  const routes = () => t.app.openAPIRegistry.definitions.flatMap((definition) => (definition.type === 'route' ? [definition.route as RouteConfig] : []));
  const zodOf = (content: unknown): z.ZodType | undefined => {
    const schema = (content as Record<string, MediaType | undefined> | undefined)?.[json]?.schema;
    return schema instanceof z.ZodType ? schema : undefined;
  };
  const route = (method: string, path: string) => {
    const found = routes().find((candidate) => candidate.method === method && candidate.path === path);
    if (!found) throw new Error(`no route ${method} ${path} in the registry`);
    return found;
  };

  it('takes the schemas the routes validate with', () => {
    const bodies: [string, string, z.ZodType][] = [
      ['post', '/v1/keys/register', registerBody],
      ['post', '/v1/keys/rotate', rotateBody],
      ['post', '/v1/keys/revoke', revokeBody],
      ['post', '/v1/keys/suspend', suspendBody],
      ['post', '/v1/keys/unsuspend', unsuspendBody],
      ['post', '/v1/keys/backup', backupBody],
      ['post', '/v1/keys/recover', recoverBody],
      ['post', '/v1/keys/shared-secret', sharedSecretBody],
      ['post', '/v1/api-keys', createApiKeyBody],
      ['patch', '/v1/api-keys/{uid}', updateApiKeyBody],
      ['put', '/v1/api-keys/{uid}', updateApiKeyBody],
      ['post', '/v1/public-keys', importBody],
      ['post', '/v1/public-keys/generate', generateBody],
      ['put', '/v2/keys', setKeysBody],
      ['post', '/v2/keys/check', checkKeysBody],
    ];
    for (const [method, path, schema] of bodies) expect(zodOf(route(method, path).request?.body?.content), `${method} ${path}`).toBe(schema);
  });

  it('holds for request bodies, path and query parameters and 2xx answers', () => {
    const failures: string[] = [];
    let parsed = 0;
    const check = (what: string, schema: z.ZodType | undefined, example: unknown) => {
      if (!schema) return failures.push(`${what}: no zod schema`);
      const result = schema.safeParse(example);
      parsed++;
      if (!result.success) failures.push(`${what}: ${z.prettifyError(result.error)}`);
    };
    for (const { method, path, operation } of operations) {
      const name = `${method.toUpperCase()} ${path}`;
      const config = route(method, path);
      if (operation.requestBody?.content[json]) {
        check(`${name} request body`, zodOf(config.request?.body?.content), mediaExample(operation.requestBody.content[json]));
      }
      for (const status of successStatuses(operation)) {
        const answer = operation.responses[status]!.content?.[json];
        if (answer) check(`${name} ${status} answer`, zodOf((config.responses[status] as { content?: unknown } | undefined)?.content), mediaExample(answer));
      }
      if (config.request?.params) check(`${name} path parameters`, config.request.params as z.ZodType, examplesOf(operation, 'path'));
      if (config.request?.query) check(`${name} query parameters`, config.request.query as z.ZodType, examplesOf(operation, 'query'));
    }
    expect(failures).toEqual([]);
    expect(parsed).toBeGreaterThanOrEqual(60);
  });
});

/**
 * The documented request of an operation: its path and query parameter examples (path ones
 * overridable by ids the app made) and its body example, sent with the master key. Expects
 * the operation's first documented 2xx status and, when the answer has an example, an answer
 * with the same fields.
 */
async function sendExample(method: string, path: string, ids: Record<string, string> = {}): Promise<TestResponse> {
  const operation = operationOf(method, path);
  const pathParams = examplesOf(operation, 'path');
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(ids[name] ?? pathParams[name])));
  const query = new URLSearchParams(Object.entries(examplesOf(operation, 'query')).map(([name, value]) => [name, String(value)]));
  const body = mediaExample(operation.requestBody?.content[json]);
  const res = await t.call(method.toUpperCase(), query.size > 0 ? `${url}?${query}` : url, body);
  const [status] = successStatuses(operation);
  expect({ request: `${method.toUpperCase()} ${url}`, status: res.status, error: res.body?.error }).toEqual({
    request: `${method.toUpperCase()} ${url}`,
    status: Number(status),
    error: undefined,
  });
  const documented = mediaExample(operation.responses[status!]!.content?.[json]);
  if (documented !== undefined) expect(fieldDifferences(res.body, documented), `${method.toUpperCase()} ${path} answer`).toEqual([]);
  return res;
}

/**
 * Fields present in only one of an answer and its documented example, e.g. `+ data.warning`
 * (answer only) or `- data.deviceId` (example only). Arrays compare their first items, when
 * both have one.
 */
function fieldDifferences(answer: unknown, example: unknown, prefix = ''): string[] {
  if (Array.isArray(answer) && Array.isArray(example)) {
    return answer.length > 0 && example.length > 0 ? fieldDifferences(answer[0], example[0], `${prefix}[0].`) : [];
  }
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(answer) || !isObject(example)) return [];
  const keys = [...new Set([...Object.keys(answer), ...Object.keys(example)])].sort();
  return keys.flatMap((key) => {
    if (!(key in example)) return [`+ ${prefix}${key}`];
    if (!(key in answer)) return [`- ${prefix}${key}`];
    return fieldDifferences(answer[key], example[key], `${prefix}${key}.`);
  });
}

const requestExample = (method: string, path: string) => mediaExample(operationOf(method, path).requestBody?.content[json]) as any;

describe('the seed flows, sent as documented, are accepted', () => {
  it('health', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await sendExample('get', path);
      expect(res.body).toEqual(mediaExample(operationOf('get', path).responses['200']!.content![json]));
    }
  });

  it('/v1/keys (seed 004): register, bundle, verify, list, rotate, backup, recover, suspend, revoke, audit', async () => {
    const registered = await sendExample('post', '/v1/keys/register');
    const register = requestExample('post', '/v1/keys/register');
    expect(registered.body.data).toMatchObject({ userId: register.userId, signedPreKeyId: register.signedPreKey.keyId, oneTimePreKeysCount: 2 });

    const bundle = await sendExample('get', '/v1/keys/bundle/{userId}');
    expect(bundle.body.data).toMatchObject({ identityKey: register.identityKey, oneTimePreKey: register.oneTimePreKeys[0] });
    expect((await sendExample('get', '/v1/keys/verify/{userId}')).body.data.isValid).toBe(true);
    expect((await sendExample('get', '/v1/keys/list')).body.data.map((item: any) => item.userId)).toContain(register.userId);

    const rotated = await sendExample('post', '/v1/keys/rotate');
    expect(rotated.body.data.newSignedPreKeyId).toBe(requestExample('post', '/v1/keys/rotate').newSignedPreKey.keyId);

    expect((await sendExample('post', '/v1/keys/backup')).body.data.version).toBe(1);
    const recovered = await sendExample('post', '/v1/keys/recover');
    expect(recovered.body.data.checksum).toBe(requestExample('post', '/v1/keys/backup').checksum);

    expect((await sendExample('post', '/v1/keys/suspend')).body.data.status).toBe('suspended');
    expect((await sendExample('post', '/v1/keys/unsuspend')).body.data.status).toBe('active');
    expect((await sendExample('post', '/v1/keys/revoke')).body.data.status).toBe('revoked');

    await sendExample('get', '/v1/keys/audit');
    // The seed's date range holds nothing written today: the entry is compared without it.
    const { userId, action } = examplesOf(operationOf('get', '/v1/keys/audit'), 'query');
    const audit = await t.call('GET', `/v1/keys/audit?userId=${userId}&action=${action}`);
    const documentedAudit = mediaExample(operationOf('get', '/v1/keys/audit').responses['200']!.content![json]);
    expect(audit.body.data).toHaveLength(1);
    expect(fieldDifferences(audit.body, documentedAudit)).toEqual([]);
    expect((await sendExample('get', '/v1/keys/audit/verify')).body.data.valid).toBe(true);
  });

  it('/v1/keys/shared-secret (seed 004): initiate, read and complete', async () => {
    const initiate = requestExample('post', '/v1/keys/shared-secret');
    for (const userId of [initiate.initiatorUserId, initiate.responderUserId]) {
      expect((await t.call('POST', '/v1/keys/register', registration(userId, 2).body)).status).toBe(201);
    }
    const { sessionId } = (await sendExample('post', '/v1/keys/shared-secret')).body.data;
    const session = await sendExample('get', '/v1/keys/shared-secret/{sessionId}', { sessionId });
    expect(session.body.data.initiatorEphemeralKey).toBe(initiate.initiatorEphemeralKey);
    expect((await sendExample('post', '/v1/keys/shared-secret/{sessionId}/complete', { sessionId })).body.data.status).toBe('completed');
  });

  it('/v1/api-keys (seeds 003, 001): create, get, list, update, delete', async () => {
    const created = await sendExample('post', '/v1/api-keys');
    const { uid } = created.body.data;
    await sendExample('get', '/v1/api-keys/{uid}', { uid });
    expect((await sendExample('get', '/v1/api-keys')).body.data.map((key: any) => key.uid)).toContain(uid);
    const update = requestExample('patch', '/v1/api-keys/{uid}');
    expect((await sendExample('patch', '/v1/api-keys/{uid}', { uid })).body.data).toMatchObject(update);
    await sendExample('put', '/v1/api-keys/{uid}', { uid });
    await sendExample('delete', '/v1/api-keys/{uid}', { uid });
  });

  it('/v1/public-keys (seed 002): import, get, list, delete, generate', async () => {
    const imported = await sendExample('post', '/v1/public-keys');
    expect(imported.body.data.publicKey).toBe(requestExample('post', '/v1/public-keys').publicKey);
    const { id } = imported.body.data;
    await sendExample('get', '/v1/public-keys/{id}', { id });
    expect((await sendExample('get', '/v1/public-keys')).body.data.map((key: any) => key.id)).toContain(id);
    await sendExample('delete', '/v1/public-keys/{id}', { id });
    expect((await sendExample('post', '/v1/public-keys/generate')).body.result.privateKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('/v2/keys (seed 000): upload, count, fetch; the check example reaches the digest comparison', async () => {
    await sendExample('put', '/v2/keys');
    const upload = requestExample('put', '/v2/keys');
    expect((await sendExample('get', '/v2/keys')).body).toEqual({ count: upload.preKeys.length, pqCount: 0 });
    const bundle = await sendExample('get', '/v2/keys/{identifier}/{deviceId}');
    expect(bundle.body.identityKey).toBe(upload.identityKey);
    expect(bundle.body.devices[0]).toMatchObject({ signedPreKey: upload.signedPreKey, preKey: upload.preKeys[0] });
    // The example digest is not that of these keys (and the seed's upload has no Kyber key): a 409, not a 400.
    const identifier = examplesOf(operationOf('post', '/v2/keys/check'), 'query').identifier as string;
    const check = await t.call('POST', `/v2/keys/check?identifier=${encodeURIComponent(identifier)}`, requestExample('post', '/v2/keys/check'));
    expect(check.body.errorCode).toBe('CONFLICT');
  });
});
