/**
 * Two users, one encrypted message — seed 004's SDK example with prekeyd's client.
 *
 *   npx tsx examples/two-users.ts                      # starts its own server on a temp database
 *   PREKEYD_URL=http://127.0.0.1:8080 PREKEYD_API_KEY=<master or API key> npx tsx examples/two-users.ts
 *
 * Alice and Bob each generate keys on their device and register the public halves. Alice runs
 * X3DH against Bob's bundle, encrypts, and sends through any transport (here an in-memory
 * one). Bob hears of the session on the push channel, derives the same secret, and decrypts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { resolveConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { decryptText, encrypt, type EncryptedMessage, PrekeydClient, type WebSocketConstructor } from '../packages/client/src/index.ts';
import { startServer } from '../src/server.ts';

/** A server to talk to: the one named in the environment, or a fresh one in this process. */
async function server(): Promise<{ baseURL: string; apiKey: string; stop(): Promise<void> }> {
  const url = process.env.PREKEYD_URL;
  const key = process.env.PREKEYD_API_KEY ?? process.env.PREKEYD_MASTER_KEY;
  if (url && key) return { baseURL: url, apiKey: key, stop: async () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'prekeyd-example-'));
  const masterKey = randomBytes(32).toString('hex');
  const config = resolveConfig({ db: join(dir, 'prekeyd.db'), port: 0, masterKey, logLevel: 'silent' });
  const handle = await startServer(config, silentLogger, (line) => console.log(`[server] ${line}`));
  return {
    baseURL: handle.url,
    apiKey: masterKey,
    stop: async () => {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const target = await server();
const run = randomBytes(3).toString('hex'); // fresh user ids on every run against a shared server
const userA = `user_a_${run}`;
const userB = `user_b_${run}`;

// === Setup: one client per device (Node 20 has no global WebSocket: give it `ws`) ===
const options = {
  baseURL: target.baseURL,
  apiKey: target.apiKey,
  projectId: process.env.PREKEYD_PROJECT_ID,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
};
const alice = new PrekeydClient(options);
const bob = new PrekeydClient(options);

// A stand-in for your own message transport.
const mailbox: Array<{ encrypted: EncryptedMessage; sessionId: string }> = [];
const sendToUserB = (message: (typeof mailbox)[number]) => mailbox.push(message);

try {
  // === User B: generate & register keys; listen for sessions ===
  const keysB = bob.keys.generateKeySet(20, { lastResort: true });
  // saveToSecureStorage('user_b_keys', keysB.privateKeys)
  await bob.keys.registerKeys(userB, keysB.registrationPayload, { deviceName: 'Bob laptop' });
  const initiated = new Promise<string>((resolve) => {
    const subscription = bob.subscribe([userB], (event) => {
      if (event.event !== 'session.initiated') return;
      subscription.close();
      resolve(event.data.sessionId);
    });
  });

  // === User A: generate & register keys ===
  const keysA = alice.keys.generateKeySet(20);
  // saveToSecureStorage('user_a_keys', keysA.privateKeys)
  await alice.keys.registerKeys(userA, keysA.registrationPayload, { deviceName: 'Alice iPhone' });

  // === User A: establish a shared secret with user B (X3DH, computed here; the bundle's signature is checked) ===
  const session = await alice.keys.establishSharedSecret(userA, userB, keysA.privateKeys.identityKey);
  console.log(`Alice: session ${session.sessionId}, secret ${session.sharedSecret.length} bytes, Bob's fingerprint ${session.responderIdentityFingerprint}`);

  // === Encrypt & send to user B (via your transport) ===
  const message = { text: 'Hello Bob!' };
  const encrypted = encrypt(JSON.stringify(message), session.sharedSecret, session.associatedData);
  sendToUserB({ encrypted, sessionId: session.sessionId });

  // === User B: the push channel announces the session; derive the same secret, decrypt ===
  const sessionId = await initiated;
  const accepted = await bob.keys.acceptSharedSecret(sessionId, keysB.privateKeys);
  delete keysB.privateKeys.oneTimePreKeys[accepted.consumedOneTimePreKeyId!]; // one-time means one time
  const delivered = mailbox.find((item) => item.sessionId === sessionId)!;
  const received = JSON.parse(decryptText(delivered.encrypted, accepted.sharedSecret, accepted.associatedData)) as typeof message;
  console.log(`Bob: from ${accepted.initiatorUserId} (fingerprint ${accepted.initiatorIdentityFingerprint}): ${JSON.stringify(received)}`);
  console.log(`Same secret on both sides: ${Buffer.from(accepted.sharedSecret).equals(Buffer.from(session.sharedSecret))}`);
} finally {
  await target.stop();
}
