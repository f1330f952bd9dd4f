/**
 * PQXDH through a real spawned server with the SDK: Alice and Bob agree on a secret over
 * ML-KEM one-time pre-keys, then over Bob's ML-KEM last-resort key once those are gone; the
 * fallback to X3DH and `requirePostQuantum`; a PQ key swapped in transit; and the auto-replenisher
 * answering `pqprekeys.low`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  decryptText,
  encrypt,
  PrekeydClient,
  PrekeydError,
  type FetchFunction,
  type PrivateKeys,
  type WebSocketConstructor,
} from '../../packages/client/src/index.ts';
import { createDbPath, removeDir, seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

let server: ServerProcess;
let dir: string;
let aliceKey: string;
let bobKey: string;

beforeAll(async () => {
  const db = createDbPath();
  dir = db.dir;
  [aliceKey, bobKey] = (await seedApiKeys(db.dbPath, [
    { acl: ['*'], userIds: ['alice*'] },
    { acl: ['*'], userIds: ['bob*'] },
  ])) as [string, string];
  server = await startServerProcess({ dbPath: db.dbPath });
});

afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

const clientFor = (apiKey: string, fetch?: FetchFunction) =>
  new PrekeydClient({ baseURL: server.url, apiKey, WebSocket: WebSocket as unknown as WebSocketConstructor, ...(fetch && { fetch }) });
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

async function caught(run: () => Promise<unknown>): Promise<PrekeydError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof PrekeydError) return error;
    throw error;
  }
  throw new Error('expected a PrekeydError');
}

async function registered(client: PrekeydClient, userId: string, count: number, postQuantum = true): Promise<PrivateKeys> {
  const keys = client.keys.generateKeySet(count, { postQuantum });
  await client.keys.registerKeys(userId, keys.registrationPayload);
  return keys.privateKeys;
}

describe('PQXDH between two SDK users through a real server', () => {
  it('agree over a one-time ML-KEM pre-key, then over the last-resort one when those have run out', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice', 2);
    const bobKeys = await registered(bob, 'bob', 1);
    expect(Object.keys(bobKeys.pqOneTimePreKeys!)).toHaveLength(1);

    const first = await alice.keys.establishSharedSecret('alice', 'bob', aliceKeys);
    expect(first).toMatchObject({ protocol: 'PQXDH', postQuantum: true, pqPreKeyLastResort: false });
    expect(Object.keys(bobKeys.pqOneTimePreKeys!)).toContain(first.pqPreKeyId);
    expect(first.warning).toBeUndefined();
    const accepted = await bob.keys.acceptSharedSecret(first.sessionId, bobKeys);
    expect(accepted).toMatchObject({ protocol: 'PQXDH', consumedPqPreKeyId: first.pqPreKeyId, pqLastResortPreKeyId: null });
    expect(same(accepted.sharedSecret, first.sharedSecret)).toBe(true);
    const message = encrypt('post-quantum hello', first.sharedSecret, first.associatedData);
    expect(decryptText(message, accepted.sharedSecret, accepted.associatedData)).toBe('post-quantum hello');
    expect((await bob.keys.verify('bob')).pqOneTimePreKeysRemaining).toBe(0);

    // Bob's one-time ML-KEM keys (and EC keys) are gone: the last-resort ML-KEM key serves, never consumed.
    const second = await alice.keys.establishSharedSecret('alice', 'bob', aliceKeys);
    expect(second).toMatchObject({ protocol: 'PQXDH', pqPreKeyId: bobKeys.pqLastResortPreKey!.keyId, pqPreKeyLastResort: true, oneTimePreKeyId: null });
    expect(second.warning).toMatch(/forward secrecy/);
    const acceptedSecond = await bob.keys.acceptSharedSecret(second.sessionId, bobKeys);
    expect(acceptedSecond).toMatchObject({ protocol: 'PQXDH', consumedPqPreKeyId: null, pqLastResortPreKeyId: bobKeys.pqLastResortPreKey!.keyId });
    expect(same(acceptedSecond.sharedSecret, second.sharedSecret)).toBe(true);
    expect(same(second.sharedSecret, first.sharedSecret)).toBe(false);
    const third = await alice.keys.establishSharedSecret('alice', 'bob', aliceKeys);
    expect(third.pqPreKeyId).toBe(bobKeys.pqLastResortPreKey!.keyId);
    expect(same((await bob.keys.acceptSharedSecret(third.sessionId, bobKeys)).sharedSecret, third.sharedSecret)).toBe(true);

    // Without the ML-KEM secret Bob cannot derive it, and says so.
    const { pqLastResortPreKey: _dropped, ...withoutPq } = bobKeys;
    expect((await caught(() => bob.keys.acceptSharedSecret(third.sessionId, withoutPq))).errorCode).toBe('MISSING_PRIVATE_KEY');
  });

  it('falls back to X3DH for a responder without ML-KEM keys and says so; requirePostQuantum refuses it, consuming nothing', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice_fb', 1);
    const bobKeys = await registered(bob, 'bob_classic', 2, false);
    const refused = await caught(() => alice.keys.establishSharedSecret('alice_fb', 'bob_classic', aliceKeys, { requirePostQuantum: true }));
    expect(refused.errorCode).toBe('POST_QUANTUM_UNAVAILABLE');
    expect((await bob.keys.verify('bob_classic')).oneTimePreKeysRemaining).toBe(2);

    const session = await alice.keys.establishSharedSecret('alice_fb', 'bob_classic', aliceKeys);
    expect(session).toMatchObject({ protocol: 'X3DH', postQuantum: false, pqPreKeyId: null, warning: expect.stringMatching(/X3DH/) });
    const accepted = await bob.keys.acceptSharedSecret(session.sessionId, bobKeys);
    expect(accepted.protocol).toBe('X3DH');
    expect(same(accepted.sharedSecret, session.sharedSecret)).toBe(true);
  });

  it('refuses an ML-KEM pre-key swapped in transit (the signature covers 0x0A ‖ key)', async () => {
    const bob = clientFor(bobKey);
    await registered(bob, 'bob_mitm', 2);
    const aliceKeys = await registered(clientFor(aliceKey), 'alice_mitm', 1);
    const swapping: FetchFunction = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/v1/keys/shared-secret') || !response.ok) return response;
      const body = await response.json();
      const key = body.data.responderBundle.pqPreKey.publicKey as string;
      body.data.responderBundle.pqPreKey.publicKey = (key[10] === '0' ? '1' : '0') + key.slice(1);
      return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
    };
    const error = await caught(() => clientFor(aliceKey, swapping).keys.establishSharedSecret('alice_mitm', 'bob_mitm', aliceKeys));
    expect(error.errorCode).toBe('BUNDLE_SIGNATURE_INVALID');
  });

  it('autoReplenish answers pqprekeys.low with freshly signed ML-KEM keys, stored before the upload', async () => {
    const bob = clientFor(bobKey);
    const bobKeys = await registered(bob, 'bob_stock', 5);
    const stored: Record<string, string> = {};
    const storedEc: Record<string, string> = {};
    const seen: string[] = [];
    const failures: unknown[] = [];
    const subscription = bob.subscribe(['bob_stock'], (event) => void seen.push(event.event), {
      onError: (error) => void failures.push(error),
      autoReplenish: {
        target: 8,
        identityKey: () => bobKeys.identityKey,
        store: ({ oneTimePreKeys, pqOneTimePreKeys }) => void (Object.assign(storedEc, oneTimePreKeys), Object.assign(stored, pqOneTimePreKeys)),
      },
    });
    try {
      await subscription.ready;
      const alice = clientFor(aliceKey);
      await alice.keys.getBundle('bob_stock'); // 4 left: below the threshold of 5
      const deadline = Date.now() + 10_000;
      while ((await bob.keys.verify('bob_stock')).pqOneTimePreKeysRemaining < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect({ remaining: (await bob.keys.verify('bob_stock')).pqOneTimePreKeysRemaining, failures: failures.map(String), seen }).toMatchObject({
        remaining: 8,
        failures: [],
      });
      expect(Object.keys(stored)).toHaveLength(4);
      // The new keys are real: a session over one of them is accepted with the stored seed.
      const aliceKeys = await registered(alice, 'alice_stock', 1);
      for (let i = 0; i < 4; i++) await alice.keys.getBundle('bob_stock');
      const session = await alice.keys.establishSharedSecret('alice_stock', 'bob_stock', aliceKeys);
      expect(Object.keys(stored)).toContain(session.pqPreKeyId);
      const merged = { ...bobKeys, oneTimePreKeys: { ...bobKeys.oneTimePreKeys, ...storedEc }, pqOneTimePreKeys: { ...bobKeys.pqOneTimePreKeys, ...stored } };
      expect(same((await bob.keys.acceptSharedSecret(session.sessionId, merged)).sharedSecret, session.sharedSecret)).toBe(true);
    } finally {
      subscription.close();
    }
  });
});
