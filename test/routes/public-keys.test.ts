import { rmSync } from 'node:fs';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neverLog } from '../helpers/log-secrets.ts';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { storedContents } from '../helpers/backend.ts';
import { expectError } from '../helpers/errors.ts';

type KeyTypeName = 'ecdsa' | 'ed25519' | 'x25519' | 'secp256k1';
const keyTypes: KeyTypeName[] = ['ecdsa', 'ed25519', 'x25519', 'secp256k1'];

/** A public key made the way a client makes it, in the directory's canonical form. */
function clientPublicKey(keyType: KeyTypeName): string {
  switch (keyType) {
    case 'ecdsa':
      return bytesToHex(p256.getPublicKey(p256.utils.randomSecretKey(), false));
    case 'secp256k1':
      return bytesToHex(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false));
    case 'ed25519':
      return bytesToHex(ed25519.keygen().publicKey);
    case 'x25519':
      return bytesToHex(x25519.keygen().publicKey);
  }
}

const message = new TextEncoder().encode('document to sign');
const p = 2n ** 255n - 19n;
const littleEndianHex = (value: bigint) => bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn)));

/** An x coordinate that is on no point of the curve (x³+ax+b is not a square). */
function offCurveCompressed(curve: typeof p256 | typeof secp256k1): string {
  for (let x = 1; ; x++) {
    const candidate = `02${x.toString(16).padStart(64, '0')}`;
    try {
      curve.Point.fromBytes(hexToBytes(candidate));
    } catch {
      return candidate;
    }
  }
}

/** A 32-byte y for which no Ed25519 point exists. */
function nonPointEd25519(): string {
  for (let y = 2n; ; y++) {
    const candidate = littleEndianHex(y);
    try {
      ed25519.Point.fromBytes(hexToBytes(candidate));
    } catch {
      return candidate;
    }
  }
}

function uncompressedOffCurve(keyType: 'ecdsa' | 'secp256k1'): string {
  const valid = clientPublicKey(keyType);
  const lastByte = (Number.parseInt(valid.slice(-2), 16) ^ 1).toString(16).padStart(2, '0');
  return valid.slice(0, -2) + lastByte;
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const importKey = (body: Record<string, unknown>, options?: Parameters<TestApp['call']>[3], app = t) => app.call('POST', '/v1/public-keys', body, options);

describe.each(keyTypes)('%s keys: import, get, list, delete', (keyType) => {
  const ownerId = `owner_${keyType}`;

  it('runs the whole life of a key', async () => {
    const publicKey = clientPublicKey(keyType);
    const created = await importKey({ ownerId, name: 'MyApp', keyType, publicKey: publicKey.toUpperCase() });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      success: true,
      message: 'Public key added',
      data: { id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'MyApp', publicKey, keyType, ownerId, createdAt: expect.any(String) },
    });
    const { id } = created.body.data;

    const got = await t.call('GET', `/v1/public-keys/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ success: true, data: created.body.data });

    const listed = await t.call('GET', `/v1/public-keys?ownerId=${ownerId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([created.body.data]);
    expect(listed.body.pagination).toEqual({ page: 1, limit: 20, total: 1, totalPages: 1, hasNextPage: false, hasPrevPage: false });

    const deleted = await t.call('DELETE', `/v1/public-keys/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await t.call('GET', `/v1/public-keys/${id}`)).status).toBe(404);
    expect((await t.call('GET', `/v1/public-keys?ownerId=${ownerId}`)).body.data).toEqual([]);
    const again = await t.call('DELETE', `/v1/public-keys/${id}`);
    expect(again.status).toBe(404);
    expect(again.body.errorCode).toBe('NOT_FOUND');
  });

  it('refuses a key of the wrong length with 400 naming publicKey', async () => {
    const tooShort = clientPublicKey(keyType).slice(0, -2);
    for (const publicKey of [tooShort, `${clientPublicKey(keyType)}00`, '00']) {
      const res = await importKey({ ownerId, name: 'short', keyType, publicKey });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, errorCode: 'VALIDATION_ERROR' });
      expect(res.body.details[0].field).toBe('publicKey');
      expect(res.body.details[0].message).toMatch(/must be \d+ bytes/);
    }
  });

  it('refuses text that is not hex with 400', async () => {
    for (const publicKey of ['zz'.repeat(32), 'abc', '']) {
      const res = await importKey({ ownerId, name: 'nothex', keyType, publicKey });
      await expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.details[0].field).toBe('publicKey');
    }
  });

  it('keeps names unique per owner (409) but not across owners', async () => {
    const first = await importKey({ ownerId, name: 'dup', keyType, publicKey: clientPublicKey(keyType) });
    expect(first.status).toBe(201);
    const clash = await importKey({ ownerId, name: 'dup', keyType, publicKey: clientPublicKey(keyType) });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ success: false, errorCode: 'CONFLICT' });
    const otherOwner = await importKey({ ownerId: `${ownerId}_2`, name: 'dup', keyType, publicKey: clientPublicKey(keyType) });
    expect(otherOwner.status).toBe(201);
  });
});

describe('point validation', () => {
  const refused = async (keyType: KeyTypeName, publicKey: string) => {
    const res = await importKey({ ownerId: 'points', name: `bad_${keyType}`, keyType, publicKey });
    expect(res.status, publicKey).toBe(400);
    expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    expect(res.body.details).toEqual([{ field: 'publicKey', message: expect.any(String) }]);
    return res.body.details[0].message as string;
  };

  it.each(['ecdsa', 'secp256k1'] as const)('%s: refuses off-curve points, bad prefixes and the point at infinity', async (keyType) => {
    const curve = keyType === 'ecdsa' ? p256 : secp256k1;
    expect(await refused(keyType, uncompressedOffCurve(keyType))).toMatch(/not a valid/);
    expect(await refused(keyType, offCurveCompressed(curve))).toMatch(/not a valid/);
    expect(await refused(keyType, `05${clientPublicKey(keyType).slice(2)}`)).toMatch(/not a valid/);
    expect(await refused(keyType, `04${'00'.repeat(64)}`)).toMatch(/not a valid/);
    // x = p (not a field element) is refused even though x mod p might be on the curve
    const fieldOrder = curve.Point.Fp.ORDER.toString(16).padStart(64, '0');
    expect(await refused(keyType, `02${fieldOrder}`)).toMatch(/not a valid/);
  });

  it.each(['ecdsa', 'secp256k1'] as const)('%s: accepts a compressed key and stores it uncompressed', async (keyType) => {
    const curve = keyType === 'ecdsa' ? p256 : secp256k1;
    const secret = curve.utils.randomSecretKey();
    const compressed = bytesToHex(curve.getPublicKey(secret, true));
    const res = await importKey({ ownerId: 'compressed', name: keyType, keyType, publicKey: compressed });
    expect(res.status).toBe(201);
    expect(res.body.data.publicKey).toBe(bytesToHex(curve.getPublicKey(secret, false)));
    expect(res.body.data.publicKey).toMatch(/^04[0-9a-f]{128}$/);
  });

  it('ed25519: refuses small-order points, non-points and non-canonical encodings', async () => {
    expect(await refused('ed25519', `01${'00'.repeat(31)}`)).toMatch(/small order/); // the identity
    expect(await refused('ed25519', `ec${'ff'.repeat(30)}7f`)).toMatch(/not a valid/); // y = -1: the point of order 2
    expect(await refused('ed25519', littleEndianHex(p))).toMatch(/not a valid/); // y = p, non-canonical 0
    expect(await refused('ed25519', nonPointEd25519())).toMatch(/not a valid/);
  });

  it('x25519: refuses low-order points and non-canonical encodings', async () => {
    expect(await refused('x25519', '00'.repeat(32))).toMatch(/low-order/);
    expect(await refused('x25519', littleEndianHex(1n))).toMatch(/low-order/);
    expect(await refused('x25519', littleEndianHex(p - 1n))).toMatch(/low-order/);
    const valid = hexToBytes(clientPublicKey('x25519'));
    valid[31]! |= 0x80;
    expect(await refused('x25519', bytesToHex(valid))).toMatch(/canonical/);
    expect(await refused('x25519', littleEndianHex(p + 3n))).toMatch(/canonical/);
  });

  it('refuses an unknown key type with 400 naming keyType', async () => {
    const res = await importKey({ ownerId: 'points', name: 'rsa', keyType: 'rsa', publicKey: clientPublicKey('ecdsa') });
    await expectError(res, 400, 'VALIDATION_ERROR');
    expect(res.body.details.map((detail: { field: string }) => detail.field)).toEqual(['keyType']);
  });

  it('refuses missing fields and bad names with 400', async () => {
    const publicKey = clientPublicKey('ed25519');
    for (const body of [
      { name: 'x', keyType: 'ed25519', publicKey },
      { ownerId: 'points', keyType: 'ed25519', publicKey },
      { ownerId: 'points', name: '', keyType: 'ed25519', publicKey },
      { ownerId: 'points', name: 'a\nb', keyType: 'ed25519', publicKey },
      { ownerId: 'bad owner!', name: 'x', keyType: 'ed25519', publicKey },
    ]) {
      const res = await importKey(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    }
    for (const raw of ['{bad json', 'null', '[]', '"text"']) {
      const res = await t.call('POST', '/v1/public-keys', raw);
      expect(res.status, raw).toBe(400);
      expect(res.body.errorCode).toBe('VALIDATION_ERROR');
    }
    expect((await t.call('GET', '/v1/public-keys/not%20an%20id')).status).toBe(400);
  });
});

describe('GET /v1/public-keys: listing', () => {
  const ownerId = 'pager';
  const ids: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) {
      const res = await importKey({ ownerId, name: `key_${i}`, keyType: 'ed25519', publicKey: clientPublicKey('ed25519') });
      ids.push(res.body.data.id);
    }
    await importKey({ ownerId: 'pager_other', name: 'key_0', keyType: 'x25519', publicKey: clientPublicKey('x25519') });
  });

  it('pages an owner’s keys newest first, 20 by default', async () => {
    const first = await t.call('GET', `/v1/public-keys?ownerId=${ownerId}`);
    expect(first.body.data).toHaveLength(20);
    expect(first.body.pagination).toEqual({ page: 1, limit: 20, total: 25, totalPages: 2, hasNextPage: true, hasPrevPage: false });
    const second = await t.call('GET', `/v1/public-keys?ownerId=${ownerId}&page=2`);
    expect(second.body.data).toHaveLength(5);
    expect(second.body.pagination).toMatchObject({ page: 2, hasNextPage: false, hasPrevPage: true });
    const all = [...first.body.data, ...second.body.data].map((key: { id: string }) => key.id);
    expect(all).toEqual([...ids].reverse());
    expect(new Set(first.body.data.map((key: { ownerId: string }) => key.ownerId))).toEqual(new Set([ownerId]));
  });

  it('honours limit up to 100 and refuses anything else', async () => {
    const res = await t.call('GET', `/v1/public-keys?ownerId=${ownerId}&limit=10&page=3`);
    expect(res.body.data.map((key: { id: string }) => key.id)).toEqual([...ids].reverse().slice(20, 25));
    expect(res.body.pagination).toMatchObject({ limit: 10, totalPages: 3 });
    expect((await t.call('GET', '/v1/public-keys?limit=100')).status).toBe(200);
    for (const query of ['limit=101', 'limit=0', 'page=0', 'page=x', 'ownerId=bad%20owner']) {
      const bad = await t.call('GET', `/v1/public-keys?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.errorCode).toBe('VALIDATION_ERROR');
    }
  });

  it('lists every owner of the project without ownerId', async () => {
    const res = await t.call('GET', '/v1/public-keys?limit=100');
    const owners = new Set(res.body.data.map((key: { ownerId: string }) => key.ownerId));
    expect(owners.has(ownerId) && owners.has('pager_other')).toBe(true);
    expect(res.body.pagination.total).toBeGreaterThanOrEqual(26);
  });
});

describe('auth, scoping, isolation and audit', () => {
  it('needs a key (401)', async () => {
    await expectError(await t.call('GET', '/v1/public-keys', undefined, { token: null }), 401, 'UNAUTHORIZED');
    await expectError(
      await importKey({ ownerId: 'a', name: 'a', keyType: 'ed25519', publicKey: clientPublicKey('ed25519') }, { token: 'wrong' }),
      401,
      'UNAUTHORIZED',
    );
  });

  it('reads need publicKeys.read; import and delete need publicKeys.write', async () => {
    const reader = await insertApiKey(t.store, { acl: ['publicKeys.read'] });
    const writer = await insertApiKey(t.store, { acl: ['publicKeys.write'] });
    const body = { ownerId: 'acl_owner', name: 'k', keyType: 'ed25519', publicKey: clientPublicKey('ed25519') };
    const denied = await importKey(body, { token: reader.token });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ errorCode: 'FORBIDDEN', error: 'This key lacks the action publicKeys.write' });
    const created = await importKey(body, { token: writer.token });
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    await expectError(await t.call('GET', `/v1/public-keys/${id}`, undefined, { token: writer.token }), 403, 'FORBIDDEN');
    await expectError(await t.call('GET', '/v1/public-keys', undefined, { token: writer.token }), 403, 'FORBIDDEN');
    expect((await t.call('GET', `/v1/public-keys/${id}`, undefined, { token: reader.token })).status).toBe(200);
    await expectError(await t.call('DELETE', `/v1/public-keys/${id}`, undefined, { token: reader.token }), 403, 'FORBIDDEN');
    expect((await t.call('DELETE', `/v1/public-keys/${id}`, undefined, { token: writer.token })).status).toBe(204);
  });

  it('limits writes, not reads, to the owners a key may act as', async () => {
    const device = await insertApiKey(t.store, { acl: ['publicKeys.read', 'publicKeys.write'], userIds: ['alice*'] });
    const own = await importKey({ ownerId: 'alice_phone', name: 'k', keyType: 'ecdsa', publicKey: clientPublicKey('ecdsa') }, { token: device.token });
    expect(own.status).toBe(201);
    const foreign = await importKey({ ownerId: 'bob', name: 'k', keyType: 'ecdsa', publicKey: clientPublicKey('ecdsa') }, { token: device.token });
    await expectError(foreign, 403, 'FORBIDDEN');
    expect(foreign.body.error).toBe('This key may not act as user bob');

    const bobs = await importKey({ ownerId: 'bob', name: 'k', keyType: 'ecdsa', publicKey: clientPublicKey('ecdsa') });
    expect((await t.call('GET', `/v1/public-keys/${bobs.body.data.id}`, undefined, { token: device.token })).status).toBe(200);
    expect((await t.call('GET', '/v1/public-keys?ownerId=bob', undefined, { token: device.token })).body.data).toHaveLength(1);
    await expectError(await t.call('DELETE', `/v1/public-keys/${bobs.body.data.id}`, undefined, { token: device.token }), 403, 'FORBIDDEN');
    expect((await t.call('GET', `/v1/public-keys/${bobs.body.data.id}`)).status).toBe(200);
    expect((await t.call('DELETE', `/v1/public-keys/${own.body.data.id}`, undefined, { token: device.token })).status).toBe(204);
  });

  it("never shows or changes another project's keys", async () => {
    const other = { headers: { 'X-Project-Id': 'other_project' } };
    const theirs = await importKey({ ownerId: 'iso_owner', name: 'k', keyType: 'x25519', publicKey: clientPublicKey('x25519') }, other);
    expect(theirs.status).toBe(201);
    const id = theirs.body.data.id;
    await expectError(await t.call('GET', `/v1/public-keys/${id}`), 404, 'NOT_FOUND');
    await expectError(await t.call('DELETE', `/v1/public-keys/${id}`), 404, 'NOT_FOUND');
    expect((await t.call('GET', '/v1/public-keys?ownerId=iso_owner')).body.data).toEqual([]);
    const projectKey = await insertApiKey(t.store, { projectId: 'default', acl: ['*'] });
    await expectError(await t.call('GET', `/v1/public-keys/${id}`, undefined, { token: projectKey.token }), 404, 'NOT_FOUND');
    expect((await t.call('GET', `/v1/public-keys/${id}`, undefined, other)).status).toBe(200);
    // the same owner and name in two projects do not clash
    expect((await importKey({ ownerId: 'iso_owner', name: 'k', keyType: 'x25519', publicKey: clientPublicKey('x25519') })).status).toBe(201);
  });

  it('audits additions, deletions and refused additions under resource PUBLIC_KEY', async () => {
    const ownerId = 'audited_owner';
    const created = await importKey({ ownerId, name: 'k', keyType: 'secp256k1', publicKey: clientPublicKey('secp256k1') });
    await importKey({ ownerId, name: 'k', keyType: 'secp256k1', publicKey: clientPublicKey('secp256k1') });
    await t.call('DELETE', `/v1/public-keys/${created.body.data.id}`);
    const { items } = await t.store.transaction((tx) => tx.audit.query({ projectId: 'default', userId: ownerId, offset: 0, limit: 10 }));
    const summary = items
      .map((entry) => ({ action: entry.action, resource: entry.resource, status: entry.status, id: entry.details.id }))
      .sort((a, b) => `${a.action}${a.status}`.localeCompare(`${b.action}${b.status}`));
    expect(summary).toEqual([
      { action: 'PUBLIC_KEY_ADDED', resource: 'PUBLIC_KEY', status: 'FAILURE', id: undefined },
      { action: 'PUBLIC_KEY_ADDED', resource: 'PUBLIC_KEY', status: 'SUCCESS', id: created.body.data.id },
      { action: 'PUBLIC_KEY_DELETED', resource: 'PUBLIC_KEY', status: 'SUCCESS', id: created.body.data.id },
    ]);
  });
});

/** Checks a returned key pair with its own algorithm: a signature or a Diffie-Hellman agreement. */
function assertKeyPairWorks(keyType: KeyTypeName, publicKey: string, privateKey: string) {
  const secret = hexToBytes(privateKey);
  const pub = hexToBytes(publicKey);
  switch (keyType) {
    case 'ecdsa':
      expect(p256.verify(p256.sign(message, secret), message, pub)).toBe(true);
      expect(bytesToHex(p256.getPublicKey(secret, false))).toBe(publicKey);
      break;
    case 'secp256k1':
      expect(secp256k1.verify(secp256k1.sign(message, secret), message, pub)).toBe(true);
      expect(bytesToHex(secp256k1.getPublicKey(secret, false))).toBe(publicKey);
      break;
    case 'ed25519':
      expect(ed25519.verify(ed25519.sign(message, secret), message, pub)).toBe(true);
      break;
    case 'x25519': {
      const peer = x25519.keygen();
      const ours = x25519.getSharedSecret(secret, peer.publicKey);
      expect(bytesToHex(ours)).toBe(bytesToHex(x25519.getSharedSecret(peer.secretKey, pub)));
      break;
    }
  }
}

describe('POST /v1/public-keys/generate', () => {
  let k: TestApp;
  beforeAll(async () => {
    k = await createTestApp({ settings: { allowServerKeygen: true } });
  });
  afterAll(() => k.close());

  it.each(keyTypes)('%s: returns a working key pair once and keeps only the public key', async (keyType) => {
    const ownerId = `gen_${keyType}`;
    const res = await k.call('POST', '/v1/public-keys/generate', { ownerId, name: 'MyApp', keyType });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { result, data } = res.body;
    const publicLength = keyType === 'ecdsa' || keyType === 'secp256k1' ? 130 : 64;
    expect(result).toEqual({
      id: data.id,
      publicKey: expect.stringMatching(new RegExp(`^[0-9a-f]{${publicLength}}$`)),
      privateKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(data).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: 'MyApp',
      publicKey: result.publicKey,
      keyType,
      ownerId,
      createdAt: expect.any(String),
    });
    assertKeyPairWorks(keyType, result.publicKey, result.privateKey);
    neverLog(result.privateKey); // checked against every log line when the test app closes

    const later = [
      await k.call('GET', `/v1/public-keys/${data.id}`),
      await k.call('GET', `/v1/public-keys?ownerId=${ownerId}`),
      await k.call('GET', '/v1/public-keys?limit=100'),
    ];
    expect(later[0]!.body.data).toEqual(data);
    for (const response of later) expect(JSON.stringify(response.body)).not.toContain(result.privateKey);

    const audit = await k.store.transaction((tx) => tx.audit.query({ projectId: 'default', userId: ownerId, offset: 0, limit: 10 }));
    expect(audit.items.map((entry) => [entry.action, entry.resource, entry.details])).toEqual([
      ['PUBLIC_KEY_GENERATED', 'PUBLIC_KEY', { name: 'MyApp', keyType, id: data.id }],
    ]);
    expect(JSON.stringify(audit.items)).not.toContain(result.privateKey);
  });

  it('generates a different key pair every time', async () => {
    const a = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_twice', name: 'a', keyType: 'ed25519' });
    const b = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_twice', name: 'b', keyType: 'ed25519' });
    expect(a.body.result.privateKey).not.toBe(b.body.result.privateKey);
    expect(a.body.result.publicKey).not.toBe(b.body.result.publicKey);
  });

  it('writes no private key to the log', async () => {
    const lines: string[] = [];
    const app = createApp({ ...k.deps, logger: createLogger('debug', (line) => lines.push(line)) });
    const response = await app.request('/v1/public-keys/generate', {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ownerId: 'gen_log', name: 'k', keyType: 'secp256k1' }),
    });
    expect(response.status).toBe(201);
    const { result } = (await response.json()) as { result: { privateKey: string } };
    expect(lines.join('\n')).not.toContain(result.privateKey);
  });

  it('refuses a taken name (409), an unknown key type (400) and a foreign owner (403)', async () => {
    await k.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_dup', name: 'k', keyType: 'x25519' });
    const clash = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_dup', name: 'k', keyType: 'x25519' });
    await expectError(clash, 409, 'CONFLICT');
    expect(clash.body.result).toBeUndefined();
    expect(JSON.stringify(clash.body)).not.toMatch(/privateKey/);
    const unknown = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_dup', name: 'r', keyType: 'rsa' });
    await expectError(unknown, 400, 'VALIDATION_ERROR');
    expect(unknown.body.details[0].field).toBe('keyType');
    const device = await insertApiKey(k.store, { acl: ['publicKeys.generate'], userIds: ['carol'] });
    const foreign = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'dave', name: 'k', keyType: 'ecdsa' }, { token: device.token });
    await expectError(foreign, 403, 'FORBIDDEN');
    const own = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'carol', name: 'k', keyType: 'ecdsa' }, { token: device.token });
    expect(own.status).toBe(201);
  });

  it('needs the action publicKeys.generate, which publicKeys.write does not grant', async () => {
    const writer = await insertApiKey(k.store, { acl: ['publicKeys.read', 'publicKeys.write'] });
    const res = await k.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_acl', name: 'k', keyType: 'ed25519' }, { token: writer.token });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: 'This key lacks the action publicKeys.generate', errorCode: 'FORBIDDEN' });
    expect((await k.call('GET', '/v1/public-keys?ownerId=gen_acl')).body.data).toEqual([]);
  });

  it('is refused with 403 unless the server runs with --allow-server-keygen', async () => {
    const res = await t.call('POST', '/v1/public-keys/generate', { ownerId: 'gen_off', name: 'k', keyType: 'ecdsa' });
    expect(res.status).toBe(403);
    expect(res.body.errorCode).toBe('FORBIDDEN');
    expect(res.body.error).toContain('must be started with --allow-server-keygen');
    expect((await t.call('GET', '/v1/public-keys?ownerId=gen_off')).body.data).toEqual([]);
  });
});

describe('generated private keys on disk', () => {
  it('are in no file of the database after a graceful close, while the public keys are', async () => {
    const d = await createTestApp({ settings: { allowServerKeygen: true } });
    const pairs: Array<{ publicKey: string; privateKey: string }> = [];
    for (const keyType of keyTypes) {
      const res = await d.call('POST', '/v1/public-keys/generate', { ownerId: 'disk', name: keyType, keyType });
      expect(res.status).toBe(201);
      pairs.push(res.body.result);
    }
    await d.store.close();
    const files = await storedContents(d.dir); // the files of the embedded store, or every stored row
    expect(files.length).toBeGreaterThan(0);
    try {
      for (const { publicKey, privateKey } of pairs) {
        // The search is real: the stored public keys are found the same way.
        expect(files.some((bytes) => bytes.includes(publicKey))).toBe(true);
        for (const bytes of files) {
          expect(bytes.includes(privateKey)).toBe(false);
          expect(bytes.includes(privateKey.toUpperCase())).toBe(false);
          expect(bytes.includes(Buffer.from(privateKey, 'hex'))).toBe(false);
        }
      }
    } finally {
      rmSync(d.dir, { recursive: true, force: true });
    }
  });
});
