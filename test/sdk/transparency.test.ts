/**
 * The SDK's transparency checks against the real app: verified bundles and sessions, a key
 * swapped in the database refused, a forked log refused, witness quorums, anchors, and seed
 * 004's "Full SDK Example" run with only its `require` line changed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/domain/authentication.ts';
import * as sdk from '../../packages/client/src/index.ts';
import { EncryptionService, PrekeydClient, type PrekeydError, type TransparencyProof } from '../../packages/client/src/index.ts';
import { formatCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import { cosignerFromSeed } from '../../packages/client/src/transparency/cosignature.ts';
import { inclusionProof, leafHash, type NodeHashes, nodeHash, treeHash } from '../../packages/client/src/transparency/merkle.ts';
import { generateSigner, parseSignerKey, signNote } from '../../packages/client/src/transparency/note.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';
import { repoRoot } from '../helpers/server-process.ts';

let t: TestApp;
const baseURL = 'http://prekeyd.test';
const fetchApp: sdk.FetchFunction = (input, init) => Promise.resolve(t.app.request(input.replace(baseURL, ''), init));
const client = (options: Partial<sdk.PrekeydClientOptions> = {}) => new PrekeydClient({ baseURL, apiKey: masterKey, fetch: fetchApp, ...options });

beforeAll(async () => {
  t = await createTestApp({ settings: { drainLimitPerMinute: 0 }, transparency: {} });
});
afterAll(() => t.close());

async function register(api: PrekeydClient, userId: string) {
  const keys = api.keys.generateKeySet(5);
  await api.keys.registerKeys(userId, keys.registrationPayload);
  return keys;
}

const errorCode = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: PrekeydError) => error.errorCode,
  );

describe('SDK transparency checks', () => {
  it('bundles and sessions verify; required transparency refuses a server without it', async () => {
    const api = client({ transparency: { required: true } });
    await register(api, 'sdk_bob');
    const alice = await register(api, 'sdk_alice');
    const bundle = await api.keys.getBundle('sdk_bob');
    expect(bundle.transparency?.leafIndex).toBeTypeOf('number');
    const session = await api.keys.establishSharedSecret('sdk_alice', 'sdk_bob', alice.privateKeys);
    expect(session.sharedSecret).toHaveLength(32);

    const off = await createTestApp();
    try {
      const plain = new PrekeydClient({
        baseURL,
        apiKey: masterKey,
        fetch: (input, init) => Promise.resolve(off.app.request(input.replace(baseURL, ''), init)),
        transparency: { required: true },
      });
      await register(plain, 'plain_bob');
      expect(await errorCode(plain.keys.getBundle('plain_bob'))).toBe('TRANSPARENCY_MISSING');
    } finally {
      await off.close();
    }
  });

  it('an identity key edited directly in the database makes the SDK refuse the bundle and the session', async () => {
    const api = client();
    await register(api, 'swap_victim');
    const initiator = await register(api, 'swap_initiator');
    await api.keys.getBundle('swap_victim'); // fine before the swap
    // The attacker's keys: a new identity key and a signed pre-key it signs, so every signature verifies.
    const attacker = ed25519.keygen();
    const spk = x25519.keygen().publicKey;
    const signedPreKey = {
      keyId: 'evil_spk',
      publicKey: Buffer.from(spk).toString('hex'),
      signature: Buffer.from(ed25519.sign(spk, attacker.secretKey)).toString('hex'),
    };
    await t.store.transaction(async (tx) => {
      const [keySet] = await tx.keySets.listForUser('default', 'swap_victim');
      await tx.keySets.update(keySet!.id, { identityKey: Buffer.from(attacker.publicKey).toString('hex'), signedPreKey });
    });
    expect(await errorCode(api.keys.getBundle('swap_victim'))).toBe('TRANSPARENCY_MISMATCH');
    expect(await errorCode(api.keys.establishSharedSecret('swap_initiator', 'swap_victim', initiator.privateKeys))).toBe('TRANSPARENCY_MISMATCH');
  });

  it('a checkpoint of the same size with another root (a fork) is refused as TRANSPARENCY_INCONSISTENT', async () => {
    const api = client();
    await register(api, 'fork_user');
    const honest = await api.keys.getBundle('fork_user'); // stores the honest checkpoint
    const proof = honest.transparency!;
    const size = Number(proof.checkpoint.split('\n')[1]);
    // A malicious server with the log key: the same leaf at the same index in a different tree of the same size.
    const log = await t.store.transaction((tx) => tx.transparency.log('default'));
    const leaves = Array.from({ length: size }, (_, i) =>
      i === proof.leafIndex ? leafHash(Buffer.from(proof.leaf, 'base64')) : leafHash(Buffer.from(`forged ${i}`)),
    );
    const nodes: NodeHashes = {
      node: (level, index) => {
        const range = leaves.slice(index * 2 ** level, (index + 1) * 2 ** level);
        while (range.length > 1)
          range.splice(0, range.length, ...Array.from({ length: range.length / 2 }, (_, i) => nodeHash(range[2 * i]!, range[2 * i + 1]!)));
        return range[0]!;
      },
    };
    const forged: TransparencyProof = {
      ...proof,
      checkpoint: signNote(formatCheckpoint({ origin: log!.origin!, size, rootHash: treeHash(nodes, size) }), [parseSignerKey(log!.signerKey!)]),
      inclusionProof: inclusionProof(proof.leafIndex, size, nodes).map((hash) => Buffer.from(hash).toString('base64')),
    };
    expect(await errorCode(api.transparency.checkProof(forged))).toBe('TRANSPARENCY_INCONSISTENT');
    // A fresh client has no stored checkpoint to compare with: it accepts the forged view (this is what witnesses are for).
    expect(await errorCode(client().transparency.checkProof(forged))).toBe('resolved');
    const zero = Buffer.alloc(32).toString('base64');
    const tampered = { ...proof, inclusionProof: proof.inclusionProof.length > 0 ? [zero, ...proof.inclusionProof.slice(1)] : [zero] };
    expect(await errorCode(api.transparency.checkProof(tampered))).toBe('TRANSPARENCY_INVALID');
  });

  it('a witness quorum is required when configured; a pinned log key must sign', async () => {
    const witness = cosignerFromSeed('witness.test/w1', new Uint8Array(32).fill(9));
    const api = client({ transparency: { witnesses: [witness.verifierKey], quorum: 1 } });
    await register(api, 'quorum_user');
    expect(await errorCode(api.keys.getBundle('quorum_user'))).toBe('TRANSPARENCY_INVALID');
    // A pinned key that is not the log's (as after a key swap on the server) refuses its checkpoints.
    const pinned = client({ transparency: { logKeys: [generateSigner('test.example/prekeyd/default').verifierKey] } });
    expect(await errorCode(pinned.keys.getBundle('quorum_user'))).toBe('TRANSPARENCY_INVALID');
  });

  it('anchors: only the hash is sent; the receipt and the bare hash verify; another message does not', async () => {
    const api = client();
    const message = { text: 'Hello Bob!', n: 1 };
    const anchor = await api.anchor(message, { hashOnly: true });
    expect(anchor.hash).toBe(sdk.anchorHashOf({ n: 1, text: 'Hello Bob!' })); // key order does not matter
    expect((await api.verifyAnchor(message, anchor)).leafIndex).toBe(anchor.leafIndex);
    expect((await api.verifyAnchor(message, anchor.hash)).leafIndex).toBe(anchor.leafIndex);
    expect(await errorCode(api.verifyAnchor({ text: 'Hello Eve!' }, anchor.hash))).toBe('TRANSPARENCY_MISMATCH');
    expect(await errorCode(api.anchor(message, { hashOnly: false }))).toBe('INVALID_ARGUMENT');
    const audit = await t.call('GET', '/v1/keys/audit?action=ANCHOR_CREATED');
    expect(JSON.stringify(audit.body)).not.toContain('Hello Bob');
  });
});

describe("seed 004's Full SDK Example", () => {
  it('runs with only its require line changed, and Bob decrypts and verifies the anchor', async () => {
    const seed = readFileSync(
      join(repoRoot, '../shared/seeds', readdirSync(join(repoRoot, '../shared/seeds')).find((name) => name.startsWith('004_'))!),
      'utf8',
    );
    const start = seed.indexOf("const { AnchoraClient } = require('@anchora/sdk');");
    const end = seed.indexOf('});', seed.indexOf('sendToUserB({')) + 3;
    expect(start).toBeGreaterThan(0);
    const example = seed.slice(start, end);
    const changed = example.replace(
      "const { AnchoraClient } = require('@anchora/sdk');",
      "const { PrekeydClient: AnchoraClient, EncryptionService } = require('@prekeyd/client');",
    );
    expect(changed.split('\n').filter((line, i) => line !== example.split('\n')[i])).toHaveLength(1);

    // The seed's world: its API key and project, user_b registered, and api.anchora.co.in served by this app.
    const now = new Date().toISOString();
    await t.store.transaction((tx) =>
      tx.apiKeys.insert({
        uid: 'key_seed',
        projectId: 'proj_123',
        hash: hashToken('dcp_live_xxx'),
        prefix: 'dcp_live_xxx',
        description: null,
        acl: ['*'],
        userIds: ['*'],
        expiresAt: null,
        revoked: false,
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
      }),
    );
    const seedFetch: sdk.FetchFunction = (input, init) => Promise.resolve(t.app.request(input.replace('https://api.anchora.co.in', ''), init));
    const bobApi = new PrekeydClient({ baseURL: 'https://api.anchora.co.in', apiKey: 'dcp_live_xxx', fetch: seedFetch });
    const bob = bobApi.keys.generateKeySet(5);
    await bobApi.keys.registerKeys('user_b', bob.registrationPayload);

    const stored = new Map<string, unknown>();
    const sent: Array<{ encrypted: sdk.EncryptedMessage; anchorHash: string; sessionId: string }> = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = ((input: string, init: RequestInit) => seedFetch(String(input), init)) as typeof fetch;
    try {
      const run = new Function('require', 'saveToSecureStorage', 'sendToUserB', `return (async () => {\n${changed}\n})();`);
      await run(
        (name: string) => (name === '@prekeyd/client' ? sdk : undefined),
        (key: string, value: unknown) => stored.set(key, value),
        (payload: (typeof sent)[number]) => sent.push(payload),
      );
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(stored.has('user_a_keys')).toBe(true);
    const [payload] = sent;
    const accepted = await bobApi.keys.acceptSharedSecret(payload!.sessionId, bob.privateKeys);
    expect(await EncryptionService.decrypt(payload!.encrypted, accepted.sharedSecret)).toEqual({ text: 'Hello Bob!' });
    const decrypted = await EncryptionService.decrypt<object>(payload!.encrypted, accepted.sharedSecret);
    expect((await bobApi.verifyAnchor(decrypted, payload!.anchorHash)).hash).toBe(payload!.anchorHash);
  });
});
