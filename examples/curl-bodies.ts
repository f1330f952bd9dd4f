/**
 * Writes request bodies for the README's curl examples, made the way a client makes them:
 * register.json (identity key, signed pre-key, 2 one-time pre-keys), rotate.json (a new signed
 * pre-key and 2 more one-time pre-keys), backup.json (those private keys encrypted with the
 * password "correct horse battery staple"), and for a second user `user_bob` register-bob.json
 * and session.json (an X3DH start from the first user to user_bob). private-keys.json is what
 * a real device would keep in its secure storage and never send anywhere.
 *
 *   npx tsx examples/curl-bodies.ts user_abc123
 */
import { writeFileSync } from 'node:fs';
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encryptBackup, generateKeySet, generateOneTimePreKeys, generateSignedPreKey } from '../packages/client/src/index.ts';

const userId = process.argv[2] ?? 'user_abc123';
const keySet = generateKeySet(2);
const rotated = generateSignedPreKey(keySet.privateKeys.identityKey);
const more = generateOneTimePreKeys(2);
const bob = generateKeySet(2);
const write = (name: string, body: unknown) => writeFileSync(name, JSON.stringify(body, null, 2));

write('register.json', { userId, ...keySet.registrationPayload, deviceName: 'iPhone 15' });
write('rotate.json', { userId, newSignedPreKey: rotated.signedPreKey, newOneTimePreKeys: more.preKeys });
write('private-keys.json', { ...keySet.privateKeys, rotatedSignedPreKey: rotated.keyPair, moreOneTimePreKeys: more.privateKeys });
// Small Argon2 parameters so that the example runs in a blink; the SDK's default is 64 MiB.
write(
  'backup.json',
  await encryptBackup(userId, keySet.privateKeys, 'correct horse battery staple', { argon2Params: { timeCost: 1, memoryCost: 1024, parallelism: 1 } }),
);
write('register-bob.json', { userId: 'user_bob', ...bob.registrationPayload });
write('session.json', {
  initiatorUserId: userId,
  responderUserId: 'user_bob',
  initiatorEphemeralKey: bytesToHex(x25519.getPublicKey(x25519.utils.randomSecretKey())),
});
console.log(`wrote register.json, rotate.json, backup.json (for ${userId}), register-bob.json, session.json and private-keys.json (keep it secret)`);
