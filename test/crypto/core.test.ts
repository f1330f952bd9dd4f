/**
 * The crypto core (packages/client/src/core) that the server and the SDK share: one error-code
 * list, one verdict on the same keys and signatures (the server refusing an upload exactly when
 * the SDK refuses a bundle carrying it), one fingerprint.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, concatBytes, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEd25519 } from '../../src/crypto/keys.ts';
import { errorStatus } from '../../src/domain/errors.ts';
import { isServerErrorCode } from '../../packages/client/src/core/error-codes.ts';
import { verifyEd25519Strict } from '../../packages/client/src/core/keys.ts';
import { clientErrorCodes } from '../../packages/client/src/errors.ts';
import { fallbackCode } from '../../packages/client/src/http.ts';
import {
  generateKeySet,
  identityKeyFingerprint,
  PrekeydClient,
  PrekeydError,
  type RegistrationPayload,
  verifyBundle,
  verifyPqPreKey,
  x3dhInitiate,
} from '../../packages/client/src/index.ts';
import { createTestApp, masterKey, type TestApp } from '../helpers/app.ts';

const { Point } = ed25519;
const L = Point.Fn.ORDER;
const p = 2n ** 255n - 19n;
const identityPoint = Point.ZERO.toBytes();
/** A point of order 8 (libsodium's blocklist). */
const torsion = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
const scalarOf = (secretKey: Uint8Array) => ed25519.utils.getExtendedPublicKey(secretKey).scalar;
const challenge = (r: Uint8Array, publicKey: Uint8Array, message: Uint8Array) => bytesToNumberLE(sha512(concatBytes(r, publicKey, message))) % L;

/**
 * A signature by scalar `a` under `publicKey` = aB + T (T of order 8) that holds only up to the
 * torsion: cofactored verifiers (noble's `verify`) accept it, cofactorless ones (RFC 8032, OpenSSL) do not.
 */
function torsionOnlySignature(a: bigint, publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  for (;;) {
    const r = bytesToNumberLE(crypto.getRandomValues(new Uint8Array(64))) % L;
    const encodedR = Point.BASE.multiply(r).toBytes();
    const h = challenge(encodedR, publicKey, message);
    if (h % 8n !== 0n) return concatBytes(encodedR, numberToBytesLE((r + h * a) % L, 32));
  }
}

function edgeCases(): Record<string, { signature: Uint8Array; message: Uint8Array; publicKey: Uint8Array; valid: boolean }> {
  const { secretKey, publicKey } = ed25519.keygen();
  const a = scalarOf(secretKey);
  const message = new Uint8Array([1, 2, 3]);
  const signature = ed25519.sign(message, secretKey);
  const s = bytesToNumberLE(signature.subarray(32));
  const mixedOrderKey = Point.fromBytes(publicKey).add(torsion).toBytes();
  const nonCanonicalIdentity = numberToBytesLE(p + 1n, 32); // y = 1 spelled as p + 1
  const smallOrderR = concatBytes(identityPoint, numberToBytesLE((challenge(identityPoint, publicKey, message) * a) % L, 32));
  return {
    genuine: { signature, message, publicKey, valid: true },
    'another message': { signature, message: new Uint8Array([1, 2, 4]), publicKey, valid: false },
    's + L (non-canonical s)': { signature: concatBytes(signature.subarray(0, 32), numberToBytesLE(s + L, 32)), message, publicKey, valid: false },
    'R of small order (RFC 8032 accepts it)': { signature: smallOrderR, message, publicKey, valid: true },
    'R spelled non-canonically': { signature: concatBytes(nonCanonicalIdentity, smallOrderR.subarray(32)), message, publicKey, valid: false },
    'public key of small order (any message verifies)': {
      signature: concatBytes(identityPoint, new Uint8Array(32)),
      message,
      publicKey: identityPoint,
      valid: false,
    },
    'public key spelled non-canonically': { signature: concatBytes(identityPoint, new Uint8Array(32)), message, publicKey: nonCanonicalIdentity, valid: false },
    'mixed-order key, valid only up to torsion': {
      signature: torsionOnlySignature(a, mixedOrderKey, message),
      message,
      publicKey: mixedOrderKey,
      valid: false,
    },
  };
}

describe('strict Ed25519: one rule', () => {
  it('the server (Web Crypto fast path) and the shared check (the SDK) answer the same on every edge case', async () => {
    for (const [name, { signature, message, publicKey, valid }] of Object.entries(edgeCases())) {
      expect({ name, server: await verifyEd25519(signature, message, publicKey), shared: verifyEd25519Strict(signature, message, publicKey) }).toEqual({
        name,
        server: valid,
        shared: valid,
      });
    }
  });

  it('is not noble’s cofactored verify, which takes the torsion-only signature', () => {
    const { signature, message, publicKey } = edgeCases()['mixed-order key, valid only up to torsion']!;
    expect(ed25519.verify(signature, message, publicKey, { zip215: false })).toBe(true);
    expect(verifyEd25519Strict(signature, message, publicKey)).toBe(false);
  });
});

/** Every error code the server's source writes literally: AppError('…'), errorCode: '…', errorFrame('…'), a refused connection's. */
function codesInServerSource(dir: string): Set<string> {
  const codes = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const match of text.matchAll(/(?:AppError\(\s*|errorCode: |errorFrame\(|refused\(|refuseConnection\(socket, '[^']*', )'([A-Z][A-Z_]+)'/g))
      codes.add(match[1]!);
  }
  return codes;
}

describe('error codes: the SDK’s are the server’s', () => {
  it('every code the server writes is one the SDK types as a server code, with the status the server maps it to', () => {
    const written = codesInServerSource(join(import.meta.dirname, '../../src'));
    expect(written.size).toBeGreaterThan(10);
    for (const code of written) expect({ code, known: isServerErrorCode(code) }).toEqual({ code, known: true });
    for (const [code, status] of Object.entries(errorStatus)) {
      expect(isServerErrorCode(code)).toBe(true);
      expect(new PrekeydError(code as keyof typeof errorStatus, '', { status }).status).toBe(status);
    }
  });

  it('no client code shadows a server code', () => {
    expect(clientErrorCodes.length).toBeGreaterThan(10);
    expect(clientErrorCodes.filter((code) => isServerErrorCode(code))).toEqual([]);
    expect(new Set(clientErrorCodes).size).toBe(clientErrorCodes.length);
  });

  it('an answer without the envelope gets the server code of its status, never another status’s', () => {
    for (let status = 400; status < 600; status++) {
      const code = fallbackCode(status);
      if (isServerErrorCode(code))
        expect({ status, code, mapped: errorStatus[code] }).toEqual({ status, code, mapped: status >= 500 && code === 'INTERNAL_ERROR' ? 500 : status });
      else expect(clientErrorCodes).toContain(code);
    }
  });
});

describe('one verdict on the same keys: the server on upload, the SDK on the bundle', () => {
  let t: TestApp;
  let client: PrekeydClient;
  const initiator = generateKeySet(1, { postQuantum: false });
  let users = 0;

  beforeAll(async () => {
    t = await createTestApp();
    client = new PrekeydClient({ baseURL: 'http://127.0.0.1', apiKey: masterKey, fetch: (input, init) => Promise.resolve(t.app.request(input, init)) });
  });
  afterAll(() => t.close());

  const hexOf = (bytes: Uint8Array) => bytesToHex(bytes);
  const flip = (hex: string) => hexOf(hexToBytes(hex).map((byte, i) => (i === 10 ? byte ^ 1 : byte)));
  const lowOrderX25519 = '00'.repeat(32);

  /** Key sets, each with one flaw (or none), made with the SDK's keygen and signed by their identity key. */
  function keySets(): Record<string, RegistrationPayload> {
    const base = () => generateKeySet(2, { postQuantum: true });
    const resign = (set: ReturnType<typeof base>, publicKey: string) => hexOf(ed25519.sign(hexToBytes(publicKey), hexToBytes(set.privateKeys.identityKey)));
    const genuine = base();
    const lowOrderSigned = base();
    const mixed = base();
    const mixedSecret = hexToBytes(mixed.privateKeys.identityKey);
    const mixedKey = Point.fromHex(mixed.privateKeys.identityPublicKey).add(torsion).toBytes();
    const pqUnreduced = base();
    const unreduced = hexToBytes(pqUnreduced.registrationPayload.pqOneTimePreKeys![0]!.publicKey);
    unreduced[0] = 0xff;
    unreduced[1] = unreduced[1]! | 0x0f; // first coefficient 4095 ≥ q
    const unreducedHex = hexOf(unreduced);
    const sAddL = base();
    const sig = hexToBytes(sAddL.registrationPayload.signedPreKey.signature);
    const withSPlusL = hexOf(concatBytes(sig.subarray(0, 32), numberToBytesLE(bytesToNumberLE(sig.subarray(32)) + L, 32)));
    const withSigned = (set: ReturnType<typeof base>, change: Partial<RegistrationPayload['signedPreKey']>) => ({
      ...set.registrationPayload,
      signedPreKey: { ...set.registrationPayload.signedPreKey, ...change },
    });
    const altered = base();
    const pqFirst = (set: ReturnType<typeof base>, change: object) => ({
      ...set.registrationPayload,
      pqOneTimePreKeys: [{ ...set.registrationPayload.pqOneTimePreKeys![0]!, ...change }],
    });
    return {
      genuine: genuine.registrationPayload,
      'identity key of small order': { ...base().registrationPayload, identityKey: hexOf(identityPoint) },
      'identity key of mixed order, signature valid only up to torsion': {
        identityKey: hexOf(mixedKey),
        signedPreKey: {
          ...mixed.registrationPayload.signedPreKey,
          signature: hexOf(torsionOnlySignature(scalarOf(mixedSecret), mixedKey, hexToBytes(mixed.registrationPayload.signedPreKey.publicKey))),
        },
        oneTimePreKeys: mixed.registrationPayload.oneTimePreKeys,
      },
      'signed pre-key signature altered': withSigned(altered, { signature: flip(altered.registrationPayload.signedPreKey.signature) }),
      'signed pre-key signature with s + L': withSigned(sAddL, { signature: withSPlusL }),
      'signed pre-key of low order, signed': withSigned(lowOrderSigned, { publicKey: lowOrderX25519, signature: resign(lowOrderSigned, lowOrderX25519) }),
      'one-time pre-key of low order': { ...base().registrationPayload, oneTimePreKeys: [{ keyId: 'opk_low', publicKey: lowOrderX25519 }] },
      'ML-KEM pre-key signature altered': pqFirst(altered, { signature: flip(altered.registrationPayload.pqOneTimePreKeys![0]!.signature) }),
      'ML-KEM pre-key not reduced mod q': pqFirst(pqUnreduced, { publicKey: unreducedHex }),
    };
  }

  /** What the SDK says of a bundle carrying these keys (a server that skipped its checks could serve it). */
  function sdkVerdict(payload: RegistrationPayload): string {
    const bundle = {
      identityKey: payload.identityKey,
      signedPreKey: payload.signedPreKey,
      oneTimePreKey: payload.oneTimePreKeys[0] ?? null,
      pqPreKey: payload.pqOneTimePreKeys?.[0] ? { ...payload.pqOneTimePreKeys[0], lastResort: false } : null,
    };
    try {
      verifyBundle(bundle);
      if (bundle.pqPreKey) verifyPqPreKey(bundle.identityKey, bundle.pqPreKey);
      x3dhInitiate({ identityPrivateKey: initiator.privateKeys.identityKey, bundle });
      return 'accepted';
    } catch (error) {
      if (error instanceof PrekeydError) return error.errorCode;
      throw error;
    }
  }

  it('the server refuses an upload exactly when the SDK refuses the bundle, and the SDK hands on the server’s code and status', async () => {
    const verdicts: Record<string, { server: string; sdk: string }> = {};
    for (const [name, payload] of Object.entries(keySets())) {
      const userId = `core_${++users}`;
      const answer = await t.call('POST', '/v1/keys/register', { userId, ...payload });
      const server = answer.status === 201 ? 'accepted' : answer.body.errorCode;
      verdicts[name] = { server, sdk: sdkVerdict(payload) };
      if (server !== 'accepted') {
        expect(answer.status).toBe(errorStatus[server as keyof typeof errorStatus]);
        const error = await client.keys.registerKeys(`${userId}_sdk`, payload).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(PrekeydError);
        expect({ errorCode: (error as PrekeydError).errorCode, status: (error as PrekeydError).status }).toEqual({ errorCode: server, status: answer.status });
      } else {
        expect(answer.body.data.identityKeyFingerprint).toBe(identityKeyFingerprint(payload.identityKey));
      }
    }
    expect(verdicts).toEqual({
      genuine: { server: 'accepted', sdk: 'accepted' },
      'identity key of small order': { server: 'VALIDATION_ERROR', sdk: 'BUNDLE_SIGNATURE_INVALID' },
      'identity key of mixed order, signature valid only up to torsion': { server: 'INVALID_SIGNATURE', sdk: 'BUNDLE_SIGNATURE_INVALID' },
      'signed pre-key signature altered': { server: 'INVALID_SIGNATURE', sdk: 'BUNDLE_SIGNATURE_INVALID' },
      'signed pre-key signature with s + L': { server: 'INVALID_SIGNATURE', sdk: 'BUNDLE_SIGNATURE_INVALID' },
      'signed pre-key of low order, signed': { server: 'VALIDATION_ERROR', sdk: 'INVALID_PEER_KEY' },
      'one-time pre-key of low order': { server: 'VALIDATION_ERROR', sdk: 'INVALID_PEER_KEY' },
      'ML-KEM pre-key signature altered': { server: 'INVALID_SIGNATURE', sdk: 'BUNDLE_SIGNATURE_INVALID' },
      'ML-KEM pre-key not reduced mod q': { server: 'VALIDATION_ERROR', sdk: 'BUNDLE_SIGNATURE_INVALID' },
    });
  });
});
