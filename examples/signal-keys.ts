/**
 * Writes signal-keys.json: a PUT /v2/keys body made by libsignal itself (the
 * `@signalapp/libsignal-client` dev dependency), as a Signal client uploads its keys: identity
 * key, signed pre-key, 5 one-time pre-keys, 5 Kyber pre-keys and a Kyber last-resort key, each
 * signed by the identity key.
 *
 *   npx tsx examples/signal-keys.ts
 */
import { writeFileSync } from 'node:fs';
import * as Signal from '@signalapp/libsignal-client';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const identity = Signal.IdentityKeyPair.generate();
const signed = (keyId: number, publicKey: Uint8Array) => ({ keyId, publicKey: base64(publicKey), signature: base64(identity.privateKey.sign(publicKey)) });
const kyber = (keyId: number) => signed(keyId, Signal.KEMKeyPair.generate().getPublicKey().serialize());

writeFileSync(
  'signal-keys.json',
  JSON.stringify({
    identityKey: base64(identity.publicKey.serialize()),
    registrationId: 1 + Math.floor(Math.random() * 16380),
    signedPreKey: signed(1, Signal.PrivateKey.generate().getPublicKey().serialize()),
    preKeys: Array.from({ length: 5 }, (_, index) => ({ keyId: 100 + index, publicKey: base64(Signal.PrivateKey.generate().getPublicKey().serialize()) })),
    pqPreKeys: Array.from({ length: 5 }, (_, index) => kyber(200 + index)),
    pqLastResortPreKey: kyber(300),
  }),
);
console.log('wrote signal-keys.json (private keys discarded: this device only uploads)');
