/**
 * Key transparency through HTTP: leaves for register/rotate/revoke/anchor, bundles carrying
 * proofs, the tlog-tiles layout, proof helpers, and access rules. Every proof is checked with
 * the independent RFC 6962 verifier of test/transparency/rfc6962-reference.ts.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import { decodeEntryBundle } from '../../src/transparency/entry-bundle.ts';
import { decodeLeaf, type KeySetLeaf } from '../../packages/client/src/transparency/leaf.ts';
import { openNote, parseVerifierKey } from '../../packages/client/src/transparency/note.ts';
import { insertApiKey } from '../helpers/api-key.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { makeSignedPreKey, registration } from '../helpers/keys.ts';
import { referenceLeafHash, referenceRoot, referenceVerifyConsistency, referenceVerifyInclusion } from '../transparency/rfc6962-reference.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ settings: { drainLimitPerMinute: 0 }, transparency: {} });
});
afterAll(() => t.close());

const base = '/v1/transparency/default';
const b64 = (text: string) => Buffer.from(text, 'base64');
const sha256hex = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

async function raw(path: string, token?: string) {
  const response = await t.app.request(path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
}

/** Opens a served checkpoint with the log's published verifier key. */
async function openCheckpoint(note: string) {
  const vkey = (await raw(`${base}/key`)).bytes.toString().trim();
  const opened = openNote(note, [parseVerifierKey(vkey)]);
  return parseCheckpoint(opened.text);
}

function expectIncluded(
  proof: { checkpoint: string; leafIndex: number; leaf: string; inclusionProof: string[] },
  checkpoint: { size: number; rootHash: Uint8Array },
) {
  const ok = referenceVerifyInclusion(referenceLeafHash(b64(proof.leaf)), proof.leafIndex, checkpoint.size, proof.inclusionProof.map(b64), checkpoint.rootHash);
  expect(ok).toBe(true);
}

describe('bundles prove themselves', () => {
  it('a bundle carries a checkpoint, its leaf and an inclusion proof for the served keys', async () => {
    const { body } = registration('tl_alice', 3);
    expect((await t.call('POST', '/v1/keys/register', body)).status).toBe(201);
    const bundle = await t.call('GET', '/v1/keys/bundle/tl_alice');
    expect(bundle.status).toBe(200);
    const proof = bundle.body.data.transparency;
    const checkpoint = await openCheckpoint(proof.checkpoint);
    expect(checkpoint.origin).toBe('test.example/prekeyd/default');
    expect(checkpoint.size).toBeGreaterThan(proof.leafIndex);
    expectIncluded(proof, checkpoint);
    const leaf = decodeLeaf(b64(proof.leaf)) as KeySetLeaf;
    expect(leaf).toMatchObject({ event: 'key-set.registered', projectId: 'default', userId: 'tl_alice', deviceId: 'default', keyFormat: 'v1' });
    expect(leaf.identityKey).toBe(sha256hex(body.identityKey));
    expect(leaf.signedPreKey).toEqual({ keyId: body.signedPreKey.keyId, hash: sha256hex(body.signedPreKey.publicKey) });
  });

  it('a rotation is a new leaf; verify and shared-secret answers prove the current one; checkpoints stay consistent', async () => {
    const { body, identity } = registration('tl_bob', 3);
    await t.call('POST', '/v1/keys/register', body);
    const before = (await t.call('GET', '/v1/keys/verify/tl_bob')).body.data.transparency;
    const newSignedPreKey = makeSignedPreKey(identity);
    expect((await t.call('POST', '/v1/keys/rotate', { userId: 'tl_bob', newSignedPreKey })).status).toBe(200);
    const verify = await t.call('GET', '/v1/keys/verify/tl_bob');
    const after = verify.body.data.transparency;
    expect(after.leafIndex).toBeGreaterThan(before.leafIndex);
    expect((decodeLeaf(b64(after.leaf)) as KeySetLeaf).signedPreKey.keyId).toBe(newSignedPreKey.keyId);
    expectIncluded(after, await openCheckpoint(after.checkpoint));

    const initiator = registration('tl_carol', 1);
    await t.call('POST', '/v1/keys/register', initiator.body);
    const session = await t.call('POST', '/v1/keys/shared-secret', {
      initiatorUserId: 'tl_carol',
      responderUserId: 'tl_bob',
      initiatorEphemeralKey: makeSignedPreKey(initiator.identity).publicKey,
    });
    expect(session.status).toBe(200);
    const sessionProof = session.body.data.responderBundle.transparency;
    expect(sessionProof.leafIndex).toBe(after.leafIndex);
    const newest = await openCheckpoint(sessionProof.checkpoint);
    expectIncluded(sessionProof, newest);

    const old = await openCheckpoint(before.checkpoint);
    const consistency = await t.call('GET', `${base}/proof/consistency?from=${old.size}&to=${newest.size}`, undefined, { token: null });
    expect(consistency.status).toBe(200);
    expect(referenceVerifyConsistency(old.size, newest.size, consistency.body.data.consistencyProof.map(b64), old.rootHash, newest.rootHash)).toBe(true);
  });

  it('revocation is logged; the revoked key set verifies with its revocation leaf', async () => {
    const { body } = registration('tl_dave', 1);
    await t.call('POST', '/v1/keys/register', body);
    expect((await t.call('POST', '/v1/keys/revoke', { userId: 'tl_dave' })).status).toBe(200);
    const verify = await t.call('GET', '/v1/keys/verify/tl_dave');
    expect(verify.body.data.isValid).toBe(false);
    expect(decodeLeaf(b64(verify.body.data.transparency.leaf)).event).toBe('key-set.revoked');
  });
});

describe('tlog-tiles layout', () => {
  it('checkpoint, key, hash tiles and entry bundles agree with the checkpoint root', async () => {
    const checkpointResponse = await raw(`${base}/checkpoint`);
    expect(checkpointResponse.status).toBe(200);
    expect(checkpointResponse.type).toBe('text/plain; charset=utf-8');
    const checkpoint = await openCheckpoint(checkpointResponse.bytes.toString());
    const width = checkpoint.size; // under 256 leaves: one partial tile
    const tile = await raw(`${base}/tile/0/000.p/${width}`);
    expect(tile.status).toBe(200);
    expect(tile.type).toBe('application/octet-stream');
    expect(tile.bytes.length).toBe(32 * width);
    const leafHashes = Array.from({ length: width }, (_, i) => tile.bytes.subarray(i * 32, (i + 1) * 32));
    expect(referenceRoot(leafHashes)).toEqual(Buffer.from(checkpoint.rootHash));

    const reader = await insertApiKey(t.store, { acl: ['transparency.read'] });
    const entries = await raw(`${base}/tile/entries/000.p/${width}`, reader.token);
    expect(entries.status).toBe(200);
    const leaves = decodeEntryBundle(entries.bytes);
    expect(leaves.map((leaf) => referenceLeafHash(leaf))).toEqual(leafHashes);
    expect(leaves.map((leaf) => decodeLeaf(leaf).event)).toContain('key-set.rotated');

    const byHash = await t.call('GET', `${base}/proof/inclusion?hash=${leafHashes[1]!.toString('hex')}`, undefined, { token: null });
    expect(byHash.body.data.leafIndex).toBe(1);
    expect(referenceVerifyInclusion(leafHashes[1]!, 1, byHash.body.data.treeSize, byHash.body.data.inclusionProof.map(b64), checkpoint.rootHash)).toBe(
      byHash.body.data.treeSize === checkpoint.size,
    );
    const byIndex = await t.call('GET', `${base}/proof/inclusion?index=2&size=${checkpoint.size}`, undefined, { token: null });
    expect(referenceVerifyInclusion(leafHashes[2]!, 2, checkpoint.size, byIndex.body.data.inclusionProof.map(b64), checkpoint.rootHash)).toBe(true);
  });

  it('entry bundles need transparency.read in the same project; hash tiles and proofs need no key', async () => {
    const checkpoint = parseCheckpoint(
      openNote((await raw(`${base}/checkpoint`)).bytes.toString(), [parseVerifierKey((await raw(`${base}/key`)).bytes.toString().trim())]).text,
    );
    const path = `${base}/tile/entries/000.p/${checkpoint.size}`;
    const none = await t.call('GET', path, undefined, { token: null });
    expect([none.status, none.body.errorCode]).toEqual([401, 'UNAUTHORIZED']);
    const reader = await insertApiKey(t.store, { acl: ['keys.read'] });
    const forbidden = await t.call('GET', path, undefined, { token: reader.token });
    expect([forbidden.status, forbidden.body.errorCode]).toEqual([403, 'FORBIDDEN']);
    const otherProject = await insertApiKey(t.store, { projectId: 'other', acl: ['transparency.read'] });
    expect((await t.call('GET', path, undefined, { token: otherProject.token })).status).toBe(403);
    expect((await raw(path, masterKey)).status).toBe(200);
  });

  it('answers 404 or 400 in the error envelope for what does not exist or is malformed', async () => {
    const cases: Array<[string, number, string]> = [
      [`${base}/tile/0/001`, 404, 'NOT_FOUND'], // beyond the tree
      [`${base}/tile/0/000.p/255`, 404, 'NOT_FOUND'],
      [`${base}/tile/0/x000/000`, 404, 'NOT_FOUND'], // non-canonical index
      [`${base}/tile/9/000`, 404, 'NOT_FOUND'],
      ['/v1/transparency/nobody/checkpoint', 404, 'NOT_FOUND'],
      ['/v1/transparency/bad!id/checkpoint', 404, 'NOT_FOUND'],
      [`${base}/proof/inclusion?index=999999`, 400, 'VALIDATION_ERROR'],
      [`${base}/proof/inclusion?index=-1`, 400, 'VALIDATION_ERROR'],
      [`${base}/proof/inclusion?hash=zz`, 400, 'VALIDATION_ERROR'],
      [`${base}/proof/inclusion?hash=${'0'.repeat(64)}`, 404, 'NOT_FOUND'],
      [`${base}/proof/consistency`, 400, 'VALIDATION_ERROR'],
      [`${base}/proof/consistency?from=5&to=2`, 400, 'VALIDATION_ERROR'],
      [`${base}/proof/consistency?from=1&to=99999`, 400, 'VALIDATION_ERROR'],
    ];
    for (const [path, status, errorCode] of cases) {
      const answer = await t.call('GET', path, undefined, { token: null });
      expect([path, answer.status, answer.body.errorCode]).toEqual([path, status, errorCode]);
    }
  });
});

describe('POST /v1/anchors', () => {
  it('anchors a hash once, answers with a covering checkpoint and proof, and reads it back', async () => {
    const hash = createHash('sha256').update('a message').digest('hex');
    const writer = await insertApiKey(t.store, { acl: ['anchors.write'] });
    const created = await t.call('POST', '/v1/anchors', { hash }, { token: writer.token });
    expect(created.status).toBe(201);
    const anchor = created.body.data;
    expect(anchor.hash).toBe(hash);
    expect(decodeLeaf(b64(anchor.leaf))).toMatchObject({ event: 'anchor', projectId: 'default', hash });
    expectIncluded(anchor, await openCheckpoint(anchor.checkpoint));
    const again = await t.call('POST', '/v1/anchors', { hash: hash.toUpperCase() }, { token: writer.token });
    expect([again.status, again.body.data.leafIndex]).toEqual([200, anchor.leafIndex]);
    const read = await t.call('GET', `/v1/anchors/${hash}`, undefined, { token: writer.token });
    expect([read.status, read.body.data.leafIndex]).toEqual([200, anchor.leafIndex]);
  });

  it('refuses bad hashes, keys without anchors.write, unknown anchors', async () => {
    const bad = await t.call('POST', '/v1/anchors', { hash: 'abc' });
    expect([bad.status, bad.body.errorCode]).toEqual([400, 'VALIDATION_ERROR']);
    const reader = await insertApiKey(t.store, { acl: ['bundles.fetch'] });
    const forbidden = await t.call('POST', '/v1/anchors', { hash: 'a'.repeat(64) }, { token: reader.token });
    expect([forbidden.status, forbidden.body.errorCode]).toEqual([403, 'FORBIDDEN']);
    expect((await t.call('POST', '/v1/anchors', { hash: 'a'.repeat(64) }, { token: null })).status).toBe(401);
    const missing = await t.call('GET', `/v1/anchors/${'b'.repeat(64)}`);
    expect([missing.status, missing.body.errorCode]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('with transparency off', () => {
  it('bundles carry no proof, anchors and logs answer 404', async () => {
    const off = await createTestApp();
    try {
      await off.call('POST', '/v1/keys/register', registration('plain', 1).body);
      expect((await off.call('GET', '/v1/keys/bundle/plain')).body.data.transparency).toBeUndefined();
      const anchor = await off.call('POST', '/v1/anchors', { hash: 'a'.repeat(64) });
      expect([anchor.status, anchor.body.errorCode]).toEqual([404, 'NOT_FOUND']);
      expect((await off.call('GET', `${base}/checkpoint`, undefined, { token: null })).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
