/**
 * Writes request bodies for the README's curl walk-through, made the way a client makes them:
 * register.json (identity key, signed pre-key, 2 one-time pre-keys) and rotate.json (a new signed
 * pre-key and 2 more one-time pre-keys), plus private-keys.json — which a real device would keep
 * in its secure storage and never send anywhere.
 *
 *   npx tsx examples/curl-bodies.ts user_abc123
 */
import { writeFileSync } from 'node:fs';
import { generateKeySet, generateOneTimePreKeys, generateSignedPreKey } from '../src/sdk/index.ts';

const userId = process.argv[2] ?? 'user_abc123';
const keySet = generateKeySet(2);
const rotated = generateSignedPreKey(keySet.privateKeys.identityKey);
const more = generateOneTimePreKeys(2);

writeFileSync('register.json', JSON.stringify({ userId, ...keySet.registrationPayload, deviceName: 'iPhone 15' }, null, 2));
writeFileSync('rotate.json', JSON.stringify({ userId, newSignedPreKey: rotated.signedPreKey, newOneTimePreKeys: more.preKeys }, null, 2));
writeFileSync('private-keys.json', JSON.stringify({ ...keySet.privateKeys, rotatedSignedPreKey: rotated.keyPair, moreOneTimePreKeys: more.privateKeys }, null, 2));
console.log(`wrote register.json, rotate.json (for ${userId}) and private-keys.json (keep it secret)`);
