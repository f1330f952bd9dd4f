/**
 * The SDK against a real spawned server: two users agree on a secret through
 * /v1/keys/shared-secret (with Bob's last-resort pre-key as DH4 once his one-time pre-keys are
 * gone), exchange a message, back up and recover their keys, and keep their pre-keys stocked
 * through the push channel with autoReplenish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  decryptText,
  encrypt,
  PrekeydClient,
  PrekeydError,
  type EncryptedMessage,
  type FetchFunction,
  type PrekeydEvent,
  type PrivateKeys,
  type WebSocketConstructor,
  x3dhRespond,
} from '../../packages/client/src/index.ts';
import { masterKey } from '../helpers/app.ts';
import { createDbPath, removeDir, seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

const fastArgon2 = { timeCost: 1, memoryCost: 256, parallelism: 1 };
let server: ServerProcess;
let dir: string;
let aliceKey: string;
let bobKey: string;

beforeAll(async () => {
  const db = createDbPath();
  dir = db.dir;
  // Device keys limited to their own user, as SPEC §2 suggests for devices.
  const tokens = await seedApiKeys(db.dbPath, [
    { acl: ['*'], userIds: ['alice*'] },
    { acl: ['*'], userIds: ['bob*'] },
  ]);
  aliceKey = tokens[0]!;
  bobKey = tokens[1]!;
  server = await startServerProcess({ dbPath: db.dbPath });
});

afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

const clientFor = (apiKey: string, extra: { fetch?: FetchFunction } = {}) =>
  new PrekeydClient({ baseURL: server.url, apiKey, WebSocket: WebSocket as unknown as WebSocketConstructor, ...extra });
const admin = () => clientFor(masterKey);

async function caught(run: () => Promise<unknown>): Promise<PrekeydError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof PrekeydError) return error;
    throw error;
  }
  throw new Error('expected a PrekeydError');
}

/** Registers a fresh key set for `userId` with the given client; returns its private keys. */
async function registered(client: PrekeydClient, userId: string, count = 10, deviceId?: string): Promise<PrivateKeys> {
  const keys = client.keys.generateKeySet(count);
  await client.keys.registerKeys(userId, keys.registrationPayload, { deviceName: `${userId} test device`, ...(deviceId && { deviceId }) });
  return keys.privateKeys;
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last value ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A fetch that lets a test rewrite one JSON answer in transit (a man in the middle). */
function tamperingFetch(pathPart: string, rewrite: (body: any) => void): FetchFunction {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!input.includes(pathPart) || !response.ok) return response;
    const body = await response.json();
    rewrite(body);
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
}

const flipHexDigit = (hex: string, index: number) => hex.slice(0, index) + (hex[index] === '0' ? '1' : '0') + hex.slice(index + 1);

describe('two users through a real server', () => {
  it('Alice and Bob derive the same 32-byte secret; a message from Alice decrypts for Bob only as sent', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice');
    const bobKeys = await registered(bob, 'bob', 5);

    const session = await alice.keys.establishSharedSecret('alice', 'bob', aliceKeys.identityKey);
    expect(session.sharedSecret).toBeInstanceOf(Uint8Array);
    expect(session.sharedSecret).toHaveLength(32);
    expect(session.oneTimePreKeyId).not.toBeNull();
    expect(Object.keys(bobKeys.oneTimePreKeys)).toContain(session.oneTimePreKeyId);
    expect(session.responderIdentityKey).toBe(bobKeys.identityPublicKey);
    expect((await bob.keys.verify('bob')).identityKeyFingerprint).toBe(session.responderIdentityFingerprint);

    const accepted = await bob.keys.acceptSharedSecret(session.sessionId, bobKeys);
    expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
    expect(Buffer.from(accepted.associatedData).equals(Buffer.from(session.associatedData))).toBe(true);
    expect(accepted.initiatorIdentityKey).toBe(aliceKeys.identityPublicKey);
    expect(accepted.consumedOneTimePreKeyId).toBe(session.oneTimePreKeyId);
    expect(accepted.session.status).toBe('completed');
    expect((await bob.keys.verify('bob')).oneTimePreKeysRemaining).toBe(4);

    // Alice → (any transport) → Bob.
    const wire = JSON.stringify({ sessionId: session.sessionId, encrypted: encrypt('Hello Bob!', session.sharedSecret, session.associatedData) });
    const received = JSON.parse(wire) as { encrypted: EncryptedMessage };
    expect(decryptText(received.encrypted, accepted.sharedSecret, accepted.associatedData)).toBe('Hello Bob!');

    const tampered = { ...received.encrypted, ciphertext: Buffer.from(received.encrypted.ciphertext, 'base64').map((b, i) => (i === 2 ? b ^ 1 : b)) };
    const tamperedMessage = { ...tampered, ciphertext: Buffer.from(tampered.ciphertext).toString('base64') };
    expect((await caught(async () => decryptText(tamperedMessage, accepted.sharedSecret, accepted.associatedData))).errorCode).toBe('DECRYPTION_FAILED');
    // Another session's key does not open it.
    const other = await alice.keys.establishSharedSecret('alice', 'bob', aliceKeys);
    expect(Buffer.from(other.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(false);
    expect((await caught(async () => decryptText(received.encrypted, other.sharedSecret, other.associatedData))).errorCode).toBe('DECRYPTION_FAILED');

    // The responder's one-time pre-key secret serves one session only: once deleted, the session cannot be re-derived.
    delete bobKeys.oneTimePreKeys[accepted.consumedOneTimePreKeyId!];
    expect((await caught(() => bob.keys.acceptSharedSecret(session.sessionId, bobKeys))).errorCode).toBe('MISSING_PRIVATE_KEY');
  });

  it('without one-time pre-keys left both sides still agree (no DH4), with the warning', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice_nopk');
    const bobKeys = await registered(bob, 'bob_nopk', 1);
    await alice.keys.getBundle('bob_nopk'); // takes the only one
    const session = await alice.keys.establishSharedSecret('alice_nopk', 'bob_nopk', aliceKeys);
    expect(session.oneTimePreKeyId).toBeNull();
    expect(session.warning).toMatch(/forward secrecy/i);
    const accepted = await bob.keys.acceptSharedSecret(session.sessionId, bobKeys, { complete: false });
    expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
    expect(accepted.session.status).toBe('pending');
  });

  it("with one-time pre-keys exhausted, Bob's last-resort pre-key is DH4: both sides agree on a 4-DH secret", async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice_lrk');
    // X3DH's DH4 is what this test checks (PQXDH has its own tests): no ML-KEM keys.
    const generated = bob.keys.generateKeySet(1, { lastResort: true, postQuantum: false });
    await bob.keys.registerKeys('bob_lrk', generated.registrationPayload);
    const bobKeys = generated.privateKeys;
    const lastResortId = bobKeys.lastResortPreKey!.keyId;
    expect((await alice.keys.getBundle('bob_lrk')).oneTimePreKey).not.toBeNull(); // takes the only one
    expect((await bob.keys.verify('bob_lrk')).oneTimePreKeysRemaining).toBe(0);

    const session = await alice.keys.establishSharedSecret('alice_lrk', 'bob_lrk', aliceKeys);
    expect(session).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: lastResortId, warning: expect.stringMatching(/forward secrecy/i) });
    const accepted = await bob.keys.acceptSharedSecret(session.sessionId, bobKeys, { complete: false });
    expect(accepted.session).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: lastResortId, status: 'pending' });
    expect(accepted).toMatchObject({ consumedOneTimePreKeyId: null, lastResortPreKeyId: lastResortId });
    expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
    expect(Buffer.from(accepted.associatedData).equals(Buffer.from(session.associatedData))).toBe(true);

    // The agreed secret is the 4-DH one: Bob's keys with the last-resort key give it, the 3-DH computation does not.
    const responder = {
      identityPrivateKey: bobKeys.identityKey,
      signedPreKeyPrivateKey: bobKeys.signedPreKey.privateKey,
      initiatorIdentityKey: aliceKeys.identityPublicKey,
      initiatorEphemeralKey: session.ephemeralPublicKey,
    };
    const fourDh = x3dhRespond({ ...responder, lastResortPreKeyPrivateKey: bobKeys.lastResortPreKey!.privateKey });
    const threeDh = x3dhRespond(responder);
    expect(Buffer.from(fourDh.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
    expect(Buffer.from(threeDh.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(false);

    // A message round trip under the agreed key.
    const message = encrypt('via the last-resort key', session.sharedSecret, session.associatedData);
    expect(decryptText(message, accepted.sharedSecret, accepted.associatedData)).toBe('via the last-resort key');

    // Never consumed: a second session uses the same last-resort key, with a fresh ephemeral key and a fresh secret.
    const again = await alice.keys.establishSharedSecret('alice_lrk', 'bob_lrk', aliceKeys);
    expect(again.lastResortPreKeyId).toBe(lastResortId);
    const acceptedAgain = await bob.keys.acceptSharedSecret(again.sessionId, bobKeys);
    expect(Buffer.from(acceptedAgain.sharedSecret).equals(Buffer.from(again.sharedSecret))).toBe(true);
    expect(Buffer.from(again.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(false);
    expect(acceptedAgain.session.status).toBe('completed');

    // Without the last-resort secret the responder cannot derive it, and says so.
    const withoutLastResort: PrivateKeys = { ...bobKeys };
    delete withoutLastResort.lastResortPreKey;
    expect((await caught(() => bob.keys.acceptSharedSecret(session.sessionId, withoutLastResort, { complete: false }))).errorCode).toBe('MISSING_PRIVATE_KEY');

    // A last-resort key swapped in transit is refused before it could become DH4.
    const swapLastResort = clientFor(aliceKey, {
      fetch: tamperingFetch('/v1/keys/shared-secret', (body) => {
        body.data.responderBundle.lastResortPreKey.publicKey = flipHexDigit(body.data.responderBundle.lastResortPreKey.publicKey, 6);
      }),
    });
    expect((await caught(() => swapLastResort.keys.establishSharedSecret('alice_lrk', 'bob_lrk', aliceKeys))).errorCode).toBe('BUNDLE_SIGNATURE_INVALID');
  });

  it('the responder still accepts a session made against its previous signed pre-key after a rotation', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice_rot');
    const bobKeys = await registered(bob, 'bob_rot', 3);
    const session = await alice.keys.establishSharedSecret('alice_rot', 'bob_rot', aliceKeys);
    const rotation = await bob.keys.rotateSignedPreKey('bob_rot', bobKeys, { oneTimePreKeys: 2, lastResort: true });
    expect(rotation.result).toMatchObject({ signedPreKeyRotated: true, oneTimePreKeysAdded: 2, totalOneTimePreKeysAvailable: 4 });
    expect(rotation.privateKeys.signedPreKey.keyId).toBe(rotation.result.newSignedPreKeyId);
    expect(rotation.privateKeys.previousSignedPreKeys?.[0]).toEqual(bobKeys.signedPreKey);
    const accepted = await bob.keys.acceptSharedSecret(session.sessionId, rotation.privateKeys);
    expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
    // A session after the rotation uses the new signed pre-key, whose signature the SDK checks.
    const later = await alice.keys.establishSharedSecret('alice_rot', 'bob_rot', aliceKeys);
    expect(later.signedPreKeyId).toBe(rotation.result.newSignedPreKeyId);
    const acceptedLater = await bob.keys.acceptSharedSecret(later.sessionId, rotation.privateKeys);
    expect(Buffer.from(acceptedLater.sharedSecret).equals(Buffer.from(later.sharedSecret))).toBe(true);
  });

  it('the responder still accepts a session made against its previous last-resort pre-key after a rotation', async () => {
    const alice = clientFor(aliceKey);
    const bob = clientFor(bobKey);
    const aliceKeys = await registered(alice, 'alice_lrrot');
    const generated = bob.keys.generateKeySet(1, { lastResort: true });
    await bob.keys.registerKeys('bob_lrrot', generated.registrationPayload);
    await alice.keys.getBundle('bob_lrrot'); // takes the only one-time pre-key
    const session = await alice.keys.establishSharedSecret('alice_lrrot', 'bob_lrrot', aliceKeys);
    expect(session.lastResortPreKeyId).toBe(generated.privateKeys.lastResortPreKey!.keyId);
    const rotation = await bob.keys.rotateSignedPreKey('bob_lrrot', generated.privateKeys, { lastResort: true });
    expect(rotation.privateKeys.lastResortPreKey!.keyId).not.toBe(session.lastResortPreKeyId);
    expect(rotation.privateKeys.previousLastResortPreKeys?.[0]).toEqual(generated.privateKeys.lastResortPreKey);
    const accepted = await bob.keys.acceptSharedSecret(session.sessionId, rotation.privateKeys);
    expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
  });

  it('refuses a bundle whose signed pre-key signature was tampered with in transit', async () => {
    const alice = clientFor(aliceKey);
    const aliceKeys = await registered(alice, 'alice_mitm');
    await registered(clientFor(bobKey), 'bob_mitm', 5);

    const forgeSession = clientFor(aliceKey, {
      fetch: tamperingFetch('/v1/keys/shared-secret', (body) => {
        body.data.responderBundle.signedPreKey.signature = flipHexDigit(body.data.responderBundle.signedPreKey.signature, 10);
      }),
    });
    const error = await caught(() => forgeSession.keys.establishSharedSecret('alice_mitm', 'bob_mitm', aliceKeys));
    expect(error.errorCode).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(error.status).toBe(0);

    const swapKey = clientFor(aliceKey, {
      fetch: tamperingFetch('/v1/keys/bundle/', (body) => {
        body.data.signedPreKey.publicKey = flipHexDigit(body.data.signedPreKey.publicKey, 4);
      }),
    });
    expect((await caught(() => swapKey.keys.getBundle('bob_mitm'))).errorCode).toBe('BUNDLE_SIGNATURE_INVALID');
    // Untampered, the same calls succeed.
    const bundle = await alice.keys.getBundle('bob_mitm');
    expect(bundle.oneTimePreKey).not.toBeNull();
    await expect(alice.keys.establishSharedSecret('alice_mitm', 'bob_mitm', aliceKeys)).resolves.toMatchObject({ responderUserId: 'bob_mitm' });
  });
});

describe('key lifecycle and errors', () => {
  it('throws one PrekeydError carrying the server errorCode, status and details', async () => {
    const alice = clientFor(aliceKey);
    const keys = alice.keys.generateKeySet(3);
    await alice.keys.registerKeys('alice_err', keys.registrationPayload, { deviceId: 'laptop', deviceName: 'Laptop' });
    const conflict = await caught(() => alice.keys.registerKeys('alice_err', keys.registrationPayload, { deviceId: 'laptop' }));
    expect(conflict).toMatchObject({ name: 'PrekeydError', errorCode: 'CONFLICT', status: 409 });

    const forbidden = await caught(() => alice.keys.registerKeys('bob_err', alice.keys.generateKeySet(1).registrationPayload));
    expect(forbidden).toMatchObject({ errorCode: 'FORBIDDEN', status: 403 });

    const invalid = await caught(() => alice.keys.registerKeys('alice err!', keys.registrationPayload));
    expect(invalid).toMatchObject({ errorCode: 'VALIDATION_ERROR', status: 400 });
    expect(invalid.details?.some((detail) => detail.field === 'userId')).toBe(true);

    expect(await caught(() => alice.keys.verify('alice_nobody'))).toMatchObject({ errorCode: 'NOT_FOUND', status: 404 });
    expect(await caught(() => clientFor('not-a-key').keys.list())).toMatchObject({ errorCode: 'UNAUTHORIZED', status: 401 });
    const offline = new PrekeydClient({ baseURL: 'http://127.0.0.1:1', apiKey: 'x' });
    expect(await caught(() => offline.keys.list())).toMatchObject({ errorCode: 'NETWORK_ERROR', status: 0 });
    expect(await offline.health()).toBe(false);
    expect(await alice.health()).toBe(true);

    const revoked = await alice.keys.revoke('alice_err', { deviceId: 'laptop', reason: 'lost' });
    expect(revoked).toMatchObject({ userId: 'alice_err', status: 'revoked', reason: 'lost', deviceIds: ['laptop'] });
    expect(await caught(() => alice.keys.getBundle('alice_err', { deviceId: 'laptop' }))).toMatchObject({ errorCode: 'KEYS_REVOKED', status: 410 });
    expect(await alice.keys.verify('alice_err', { deviceId: 'laptop' })).toMatchObject({ isValid: false, status: 'revoked' });
  });

  it('replenish, verify, list and audit are typed round trips', async () => {
    const alice = clientFor(aliceKey);
    const stored: Record<string, string>[] = [];
    const keys = await registered(alice, 'alice_life', 2);
    const { result, oneTimePreKeys } = await alice.keys.replenish('alice_life', 7, { store: (secrets) => void stored.push(secrets) });
    expect(result).toMatchObject({ signedPreKeyRotated: false, oneTimePreKeysAdded: 7, totalOneTimePreKeysAvailable: 9 });
    expect(stored).toEqual([oneTimePreKeys]);
    expect(Object.keys(oneTimePreKeys)).toHaveLength(7);
    expect(Object.keys(oneTimePreKeys).some((id) => id in keys.oneTimePreKeys)).toBe(false);

    const status = await alice.keys.verify('alice_life');
    expect(status).toMatchObject({ userId: 'alice_life', isValid: true, status: 'active', oneTimePreKeysRemaining: 9, deviceName: 'alice_life test device' });

    const page = await admin().keys.list({ sortBy: 'userId', sortOrder: 'asc', limit: 100 });
    expect(page.data.map((entry) => entry.userId)).toContain('alice_life');
    expect(page.pagination).toMatchObject({ page: 1, limit: 100 });

    const audit = await alice.keys.audit({ userId: 'alice_life', action: 'PREKEYS_REPLENISHED' });
    expect(audit.data).toHaveLength(1);
    expect(audit.data[0]).toMatchObject({ action: 'PREKEYS_REPLENISHED', userId: 'alice_life', status: 'SUCCESS' });
    expect(audit.pagination.total).toBe(1);
    expect(await alice.keys.verifyAuditChain()).toMatchObject({ valid: true });
  });

  it('backup → recover returns the original private keys; a wrong password fails cleanly', async () => {
    const alice = clientFor(aliceKey);
    const keys = await registered(alice, 'alice_backup', 3);
    const stored = await alice.keys.backup('alice_backup', keys, 'a long passphrase', { argon2Params: fastArgon2, expectedVersion: 0 });
    expect(stored.version).toBe(1);
    const recovered = await alice.keys.recover('alice_backup', 'a long passphrase');
    expect(recovered.privateKeys).toEqual(keys);
    expect(recovered.version).toBe(1);

    const wrong = await caught(() => alice.keys.recover('alice_backup', 'not the passphrase'));
    expect(wrong).toMatchObject({ errorCode: 'WRONG_PASSWORD', status: 0 });
    // The server's optimistic concurrency surfaces as CONFLICT.
    expect(await caught(() => alice.keys.backup('alice_backup', keys, 'x', { argon2Params: fastArgon2, expectedVersion: 0 }))).toMatchObject({
      errorCode: 'CONFLICT',
    });
    expect(await caught(() => alice.keys.recover('alice_nobackup', 'x'))).toMatchObject({ errorCode: 'NOT_FOUND' });

    // The recovered keys work: a session made against them is accepted with them.
    const bobKeys = await registered(clientFor(bobKey), 'bob_backup');
    const session = await clientFor(bobKey).keys.establishSharedSecret('bob_backup', 'alice_backup', bobKeys);
    const accepted = await alice.keys.acceptSharedSecret(session.sessionId, recovered.privateKeys);
    expect(Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
  });

  it('publicKeys: import, get, list and delete in the directory', async () => {
    const client = admin();
    const { registrationPayload } = client.keys.generateKeySet(1);
    const added = await client.publicKeys.import({ ownerId: 'alice_dir', name: 'signing', keyType: 'ed25519', publicKey: registrationPayload.identityKey });
    expect(added).toMatchObject({ ownerId: 'alice_dir', name: 'signing', keyType: 'ed25519', publicKey: registrationPayload.identityKey });
    expect(await client.publicKeys.get(added.id)).toEqual(added);
    const page = await client.publicKeys.list({ ownerId: 'alice_dir' });
    expect(page.data.map((key) => key.id)).toEqual([added.id]);
    await client.publicKeys.delete(added.id);
    expect(await caught(() => client.publicKeys.get(added.id))).toMatchObject({ errorCode: 'NOT_FOUND' });
    // Server-side generation is off by default.
    expect(await caught(() => client.publicKeys.generate({ ownerId: 'alice_dir', name: 'gen', keyType: 'x25519' }))).toMatchObject({
      errorCode: 'FORBIDDEN',
    });
  });
});

describe('push channel', () => {
  it('with autoReplenish, draining a device below the threshold gets fresh pre-keys uploaded, and they work', async () => {
    const bob = clientFor(bobKey);
    const alice = clientFor(aliceKey);
    const bobKeys = await registered(bob, 'bob_push', 5, 'phone');
    const aliceKeys = await registered(alice, 'alice_push');
    const uploads: Array<{ deviceId: string; count: number }> = [];
    const events: PrekeydEvent[] = [];
    const errors: PrekeydError[] = [];
    const remaining = async () => (await bob.keys.verify('bob_push', { deviceId: 'phone' })).oneTimePreKeysRemaining;
    const count = (name: string) => events.filter((event) => event.event === name).length;

    const subscription = bob.subscribe(['bob_push'], (event) => void events.push(event), {
      onError: (error) => errors.push(error),
      autoReplenish: {
        target: 20,
        store: ({ deviceId, oneTimePreKeys }) => {
          Object.assign(bobKeys.oneTimePreKeys, oneTimePreKeys);
          uploads.push({ deviceId, count: Object.keys(oneTimePreKeys).length });
        },
      },
    });
    await subscription.ready;

    // One fetch by Alice: 5 → 4, below the default threshold of 5. Nothing else is called.
    await alice.keys.getBundle('bob_push', { deviceId: 'phone' });
    await until(
      () => count('prekeys.replenished'),
      (n) => n === 1,
    );
    expect(events.find((event) => event.event === 'prekeys.low')?.data).toEqual({ deviceId: 'phone', remaining: 4, threshold: 5 });
    expect(uploads).toEqual([{ deviceId: 'phone', count: 16 }]);
    expect(await remaining()).toBe(20);

    // A burst (the master key, exempt from drain protection): 20 → 3 raises one or two alerts; one upload answers them.
    for (let i = 0; i < 17; i++) await admin().keys.getBundle('bob_push', { deviceId: 'phone' });
    await until(
      () => count('prekeys.replenished'),
      (n) => n === 2,
    );
    await until(remaining, (n) => n >= 5);
    await tick(300); // room for a (wrong) second upload to show
    expect(uploads).toHaveLength(2);
    expect([16, 17]).toContain(uploads[1]!.count);
    const stocked = await remaining();
    expect(stocked).toBe(3 + uploads[1]!.count);
    subscription.close();
    expect(subscription.status).toBe('closed');

    // Every pre-key now stored on the server has its secret on the device: drain them all through sessions.
    let accepted = 0;
    for (;;) {
      const session = await admin().keys.establishSharedSecret('alice_push', 'bob_push', aliceKeys, { responderDeviceId: 'phone' });
      if (session.oneTimePreKeyId === null) break;
      const answer = await bob.keys.acceptSharedSecret(session.sessionId, bobKeys, { complete: false });
      expect(Buffer.from(answer.sharedSecret).equals(Buffer.from(session.sharedSecret))).toBe(true);
      delete bobKeys.oneTimePreKeys[answer.consumedOneTimePreKeyId!];
      accepted += 1;
    }
    expect(accepted).toBe(stocked);
    expect(errors).toEqual([]);
  });

  it('reconnects after a dropped connection and resumes with since: every event once, in order', async () => {
    const sockets: WebSocket[] = [];
    const sent: string[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url: string, options?: WebSocket.ClientOptions) {
        super(url, options);
        sockets.push(this);
      }
      override send(data: any, ...rest: any[]) {
        sent.push(String(data));
        (super.send as (...args: any[]) => void)(data, ...rest);
      }
    }
    const bob = new PrekeydClient({
      baseURL: server.url,
      apiKey: bobKey,
      WebSocket: RecordingWebSocket as unknown as WebSocketConstructor,
      webSocketAuth: 'header',
    });
    await registered(bob, 'bob_resume', 10);
    const events: PrekeydEvent[] = [];
    const statuses: string[] = [];
    const subscription = bob.subscribe(['bob_resume'], (event) => void events.push(event), {
      reconnect: { initialDelayMs: 1500 },
      onStatus: (status) => statuses.push(status),
    });
    await subscription.ready;

    await bob.keys.replenish('bob_resume', 1);
    await until(
      () => events.length,
      (count) => count === 1,
    );
    const firstId = events[0]!.id;
    expect(subscription.lastEventId).toBe(firstId);

    sockets[0]!.terminate(); // the network drops
    await until(
      () => subscription.status,
      (status) => status === 'reconnecting',
    );
    await bob.keys.replenish('bob_resume', 1); // committed while nobody listens
    await bob.keys.replenish('bob_resume', 1);
    await until(
      () => events.length,
      (count) => count === 3,
    );
    await until(
      () => subscription.status,
      (status) => status === 'subscribed',
    );
    await bob.keys.replenish('bob_resume', 1); // live again
    await until(
      () => events.length,
      (count) => count === 4,
    );

    expect(sockets).toHaveLength(2);
    const subscribes = sent.map((frame) => JSON.parse(frame)).filter((frame) => frame.type === 'subscribe');
    expect(subscribes).toEqual([
      { type: 'subscribe', userIds: ['bob_resume'] },
      { type: 'subscribe', userIds: ['bob_resume'], since: firstId },
    ]);
    const ids = events.map((event) => BigInt(event.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(events.map((event) => event.event)).toEqual(Array(4).fill('prekeys.replenished'));
    expect(events.map((event) => (event.data as { remaining: number }).remaining)).toEqual([11, 12, 13, 14]);
    expect(statuses).toEqual(['subscribed', 'reconnecting', 'subscribed']);
    subscription.close();
  });

  it('an explicit since replays stored events first; closing before confirmation rejects ready', async () => {
    const bob = clientFor(bobKey);
    await registered(bob, 'bob_since', 10);
    await bob.keys.replenish('bob_since', 1);
    const all = await bob.keys.audit({ userId: 'bob_since' });
    expect(all.data.length).toBeGreaterThan(0);
    const events: PrekeydEvent[] = [];
    const replay = bob.subscribe(['bob_since'], (event) => void events.push(event), { since: '0' });
    await replay.ready;
    await until(
      () => events.map((event) => event.event),
      (names) => names.includes('prekeys.replenished'),
    );
    expect(events.map((event) => event.event)).toEqual(['keys.registered', 'devices.changed', 'prekeys.replenished']);
    replay.close();

    const early = bob.subscribe(['bob_since'], () => undefined);
    early.close();
    expect((await caught(() => early.ready)).errorCode).toBe('NETWORK_ERROR');
    expect(() => new PrekeydClient({ baseURL: server.url, apiKey: bobKey }).subscribe(['bob_since'], () => undefined)).toThrow(PrekeydError);
  });
});
