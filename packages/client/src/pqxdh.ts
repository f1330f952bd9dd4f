/**
 * PQXDH as Signal specifies it (https://signal.org/docs/specifications/pqxdh/), revision 3:
 * X3DH's DH steps (x3dh.ts) plus an ML-KEM-1024 encapsulation to the responder's signed PQ
 * pre-key, its shared secret appended to the KDF input.
 *
 *   (CT, SS) = ML-KEM-1024.Encaps(PQPK_B)   PQPK_B = the one-time ML-KEM pre-key, else the last-resort one
 *   SK = HKDF-SHA-256(salt = 32 zero bytes, IKM = F ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS, info, L = 32)
 *   F  = 32 0xFF bytes (curve25519), info = "prekeyd PQXDH_CURVE25519_SHA-256_ML-KEM-1024"
 *   AD = IK_A ‖ IK_B (the Ed25519 identity keys as published, as in X3DH)
 *
 * The parameters of spec §2.1: curve = curve25519 (Ed25519 identity keys converted to X25519, as
 * for X3DH), hash = SHA-256, pqkem = ML-KEM-1024 (FIPS 203), EncodeKEM(PQPK) = 0x0A ‖ ek (the
 * byte libsignal uses for ML-KEM-1024); the PQ pre-key's signature is Ed25519 by IK_B over
 * EncodeKEM(PQPK_B). CT goes to the responder (prekeyd's `kem-ciphertext` step).
 */
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { isValidMlKem1024PublicKey, mlKem1024CiphertextLength, mlKemSignedMessage } from './ml-kem.ts';
import { concatBytes, decodeHex, encodeHex, hexBytes, utf8 } from './bytes.ts';
import { verifyEd25519Strict } from './core/keys.ts';
import { PrekeydError } from './errors.ts';
import type { BundlePqPreKey } from './types.ts';
import {
  type InitiatorInput,
  type InitiatorResult,
  initiatorDhOutputs,
  type ResponderInput,
  responderDhOutputs,
  type X3dhBundle,
  type X3dhSecret,
} from './x3dh.ts';

/** Spec §2.2: the info parameter and the curve, hash and KEM identifiers, joined by `_`. */
export const pqxdhInfo = 'prekeyd PQXDH_CURVE25519_SHA-256_ML-KEM-1024';

/** A bundle with the responder's ML-KEM pre-key (a `/v1/keys/bundle` answer, or a PQXDH session's `responderBundle`). */
export interface PqxdhBundle extends X3dhBundle {
  pqPreKey: BundlePqPreKey;
}

export interface PqxdhInitiatorInput extends InitiatorInput {
  bundle: PqxdhBundle;
  /** ML-KEM's 32-byte encapsulation randomness m; random when omitted (tests pass it for fixed vectors). */
  encapsulationRandomness?: Uint8Array;
}

export interface PqxdhInitiatorResult extends InitiatorResult {
  /** CT, hex: what the responder decapsulates. */
  kemCiphertext: string;
  pqPreKeyId: string;
  pqPreKeyLastResort: boolean;
}

export interface PqxdhResponderInput extends ResponderInput {
  /** The ML-KEM pre-key's 64-byte seed (d ‖ z), as generateKeySet keeps it, hex or bytes. */
  pqPreKeyPrivateKey: Uint8Array | string;
  /** CT, hex. */
  kemCiphertext: string;
}

/** KDF(KM) of spec §2.2 with KM = DH1 ‖ … ‖ SS. */
export function pqxdhKdf(dhOutputs: Uint8Array[], kemSharedSecret: Uint8Array): Uint8Array {
  const ikm = concatBytes(new Uint8Array(32).fill(0xff), ...dhOutputs, kemSharedSecret);
  return hkdf(sha256, ikm, new Uint8Array(32), utf8(pqxdhInfo), 32);
}

/** Refuses (BUNDLE_SIGNATURE_INVALID) an ML-KEM pre-key that is malformed or not signed by the bundle's identity key. */
export function verifyPqPreKey(identityKeyHex: string, pqPreKey: BundlePqPreKey): Uint8Array {
  const invalid = (message: string) => new PrekeydError('BUNDLE_SIGNATURE_INVALID', message);
  const hex = (text: unknown) => (typeof text === 'string' && decodeHex(text)) || new Uint8Array();
  const publicKey = hex(pqPreKey?.publicKey);
  if (!isValidMlKem1024PublicKey(publicKey)) throw invalid("The bundle's post-quantum pre-key is not a valid ML-KEM-1024 key");
  // The server's own check of an upload (core/keys.ts), so both accept the same signatures.
  if (!verifyEd25519Strict(hex(pqPreKey.signature), mlKemSignedMessage(publicKey), hex(identityKeyHex))) {
    throw invalid("The post-quantum pre-key signature does not verify under the bundle's identity key: refusing the bundle");
  }
  return publicKey;
}

/** The initiator's side (Alice): X3DH's DH steps, then ML-KEM encapsulation to Bob's verified PQ pre-key. */
export function pqxdhInitiate(input: PqxdhInitiatorInput): PqxdhInitiatorResult {
  const pqPreKey = input.bundle.pqPreKey;
  const pqPublicKey = verifyPqPreKey(input.bundle.identityKey, pqPreKey);
  const derived = initiatorDhOutputs(input);
  const { cipherText, sharedSecret: kemSecret } = ml_kem1024.encapsulate(pqPublicKey, input.encapsulationRandomness);
  const result: PqxdhInitiatorResult = {
    sharedSecret: pqxdhKdf(derived.outputs, kemSecret),
    associatedData: concatBytes(derived.identityPublic, derived.responderIdentity),
    ephemeralPublicKey: encodeHex(x25519.getPublicKey(derived.ephemeralSecret)),
    signedPreKeyId: input.bundle.signedPreKey.keyId,
    oneTimePreKeyId: derived.oneTimePreKeyId,
    lastResortPreKeyId: derived.lastResortPreKeyId,
    kemCiphertext: encodeHex(cipherText),
    pqPreKeyId: pqPreKey.keyId,
    pqPreKeyLastResort: pqPreKey.lastResort,
  };
  // Spec §3.3: delete the ephemeral secret, the DH outputs and SS once SK is computed.
  if (!input.ephemeralPrivateKey) derived.ephemeralSecret.fill(0);
  for (const output of [...derived.outputs, kemSecret]) output.fill(0);
  return result;
}

/** The responder's side (Bob): the same DH steps, SS = ML-KEM-1024.Decaps(CT) with the PQ pre-key's secret. */
export function pqxdhRespond(input: PqxdhResponderInput): X3dhSecret {
  const ciphertext = hexBytes(input.kemCiphertext, 'kemCiphertext', mlKem1024CiphertextLength);
  const seed =
    typeof input.pqPreKeyPrivateKey === 'string' ? hexBytes(input.pqPreKeyPrivateKey, 'post-quantum pre-key private key', 64) : input.pqPreKeyPrivateKey;
  if (!(seed instanceof Uint8Array) || seed.length !== 64)
    throw new PrekeydError('INVALID_ARGUMENT', 'post-quantum pre-key private key must be the 64-byte ML-KEM seed');
  const { secretKey } = ml_kem1024.keygen(seed);
  const kemSecret = ml_kem1024.decapsulate(ciphertext, secretKey);
  const { outputs, associatedData } = responderDhOutputs(input);
  const result = { sharedSecret: pqxdhKdf(outputs, kemSecret), associatedData };
  for (const output of [...outputs, kemSecret, secretKey]) output.fill(0);
  return result;
}
