/**
 * X3DH as Signal specifies it (https://signal.org/docs/specifications/x3dh/), with Ed25519
 * identity keys converted to X25519 for the Diffie-Hellman steps (the birational map, as
 * libsodium's crypto_sign_ed25519_*_to_curve25519):
 *
 *   DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B or LRK_B)
 *   SK  = HKDF-SHA-256(salt = 32 zero bytes, IKM = 32 0xFF bytes ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4],
 *                      info = "prekeyd X3DH", L = 32)
 *   AD  = Encode(IK_A) ‖ Encode(IK_B), Encode = the 32-byte Ed25519 identity public key as published
 *
 * DH4 uses the bundle's one-time pre-key OPK_B; when none was left, the bundle's last-resort
 * pre-key LRK_B (SPEC §3: signed like SPK_B, never consumed) takes its place, as in Signal;
 * with neither there is no DH4. A bundle is used only after the signatures of the signed
 * pre-key and of any last-resort pre-key (Ed25519 by IK_B over the 32 raw bytes of the public
 * key, SPEC §3) verify.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, decodeHex, encodeHex, hexBytes, keyBytes, utf8 } from './bytes.ts';
import { isValidEd25519PublicKey, isValidX25519PublicKey, verifyEd25519Strict } from './core/keys.ts';
import { PrekeydError } from './errors.ts';
import type { PreKey, SignedPreKey } from './types.ts';

/** The X3DH `info` string: identifies the application (Signal spec §2.1). */
export const x3dhInfo = 'prekeyd X3DH';

/** The public part of a bundle that X3DH uses (a `/v1/keys/bundle` answer or a session's `responderBundle`). */
export interface X3dhBundle {
  identityKey: string;
  signedPreKey: SignedPreKey;
  oneTimePreKey: PreKey | null;
  lastResortPreKey?: SignedPreKey;
}

export interface X3dhSecret {
  /** SK: 32 bytes, the same on both sides. */
  sharedSecret: Uint8Array;
  /** AD = IK_A ‖ IK_B (64 bytes): pass it to encrypt/decrypt as associated data. */
  associatedData: Uint8Array;
}

export interface InitiatorInput {
  /** IK_A: the initiator's Ed25519 secret key (32 bytes or hex). */
  identityPrivateKey: Uint8Array | string;
  /** EK_A: a fresh X25519 secret; generated when omitted. Never reuse one. */
  ephemeralPrivateKey?: Uint8Array;
  bundle: X3dhBundle;
}

export interface InitiatorResult extends X3dhSecret {
  /** EK_A's public key, hex: what the responder needs. */
  ephemeralPublicKey: string;
  signedPreKeyId: string;
  /** The one-time pre-key used for DH4, or null when the bundle had none. */
  oneTimePreKeyId: string | null;
  /** The last-resort pre-key used for DH4 when the bundle had no one-time pre-key, else null. */
  lastResortPreKeyId: string | null;
}

export interface ResponderInput {
  /** IK_B: the responder's Ed25519 secret key. */
  identityPrivateKey: Uint8Array | string;
  /** SPK_B's X25519 secret. */
  signedPreKeyPrivateKey: Uint8Array | string;
  /** OPK_B's X25519 secret, when the initiator used one. */
  oneTimePreKeyPrivateKey?: Uint8Array | string | null;
  /** LRK_B's X25519 secret, when the initiator used the last-resort pre-key for DH4 (never with a one-time pre-key). */
  lastResortPreKeyPrivateKey?: Uint8Array | string | null;
  /** IK_A, Ed25519 public key, hex. */
  initiatorIdentityKey: string;
  /** EK_A, X25519 public key, hex. */
  initiatorEphemeralKey: string;
}

const invalidBundle = (message: string) => new PrekeydError('BUNDLE_SIGNATURE_INVALID', message);

function bundleKey(hex: string, what: string): Uint8Array {
  try {
    return hexBytes(hex, what, 32);
  } catch {
    throw invalidBundle(`The bundle's ${what} is not a 32-byte hex key`);
  }
}

function verifySigned(identityKey: Uint8Array, key: SignedPreKey, what: string): void {
  const publicKey = bundleKey(key.publicKey, `${what} public key`);
  const signature = (typeof key.signature === 'string' && decodeHex(key.signature)) || new Uint8Array();
  // The server's own check of an upload (core/keys.ts): strict RFC 8032, so both accept the same signatures.
  if (!verifyEd25519Strict(signature, publicKey, identityKey))
    throw invalidBundle(`The ${what} signature does not verify under the bundle's identity key: refusing the bundle`);
}

/** Refuses (throws BUNDLE_SIGNATURE_INVALID) a bundle whose signatures or keys do not check out. */
export function verifyBundle(bundle: X3dhBundle): void {
  const identityKey = bundleKey(bundle.identityKey, 'identity key');
  if (!isValidEd25519PublicKey(identityKey)) {
    throw invalidBundle("The bundle's identity key is not a valid Ed25519 public key");
  }
  verifySigned(identityKey, bundle.signedPreKey, 'signed pre-key');
  if (bundle.lastResortPreKey) verifySigned(identityKey, bundle.lastResortPreKey, 'last-resort pre-key');
  if (bundle.oneTimePreKey) bundleKey(bundle.oneTimePreKey.publicKey, 'one-time pre-key');
}

/** X25519; noble refuses low-order public keys (an all-zero result), which we report as such. */
function dh(secret: Uint8Array, publicKey: Uint8Array, what: string): Uint8Array {
  // The server refuses the same keys on upload (core/keys.ts); noble would refuse them here too.
  if (!isValidX25519PublicKey(publicKey)) throw new PrekeydError('INVALID_PEER_KEY', `${what} is not a usable X25519 public key (low-order point)`);
  try {
    return x25519.getSharedSecret(secret, publicKey);
  } catch (cause) {
    throw new PrekeydError('INVALID_PEER_KEY', `${what} is not a usable X25519 public key`, { cause });
  }
}

function edToX25519Public(publicKey: Uint8Array, what: string): Uint8Array {
  try {
    return ed25519.utils.toMontgomery(publicKey);
  } catch (cause) {
    throw new PrekeydError('INVALID_PEER_KEY', `${what} is not a valid Ed25519 public key`, { cause });
  }
}

/** KDF(KM) of the X3DH spec §2.2 for X25519: F = 32 0xFF bytes, zero salt, SHA-256. */
export function x3dhKdf(dhOutputs: Uint8Array[]): Uint8Array {
  const ikm = concatBytes(new Uint8Array(32).fill(0xff), ...dhOutputs);
  return hkdf(sha256, ikm, new Uint8Array(32), utf8(x3dhInfo), 32);
}

/** DH1‖DH2‖DH3(‖DH4) of the initiator and what goes with them; the caller derives SK and wipes the outputs. */
export interface InitiatorDh {
  outputs: Uint8Array[];
  identityPublic: Uint8Array;
  responderIdentity: Uint8Array;
  ephemeralSecret: Uint8Array;
  oneTimePreKeyId: string | null;
  lastResortPreKeyId: string | null;
}

/** The initiator's DH steps against a verified bundle (shared by X3DH and PQXDH). */
export function initiatorDhOutputs(input: InitiatorInput): InitiatorDh {
  verifyBundle(input.bundle);
  const identitySecret = keyBytes(input.identityPrivateKey, 'identity private key');
  const identityPublic = ed25519.getPublicKey(identitySecret);
  const ephemeralSecret = input.ephemeralPrivateKey ? keyBytes(input.ephemeralPrivateKey, 'ephemeral private key') : x25519.utils.randomSecretKey();

  const responderIdentity = hexBytes(input.bundle.identityKey, 'identity key', 32);
  const signedPreKey = hexBytes(input.bundle.signedPreKey.publicKey, 'signed pre-key', 32);
  const oneTimePreKey = input.bundle.oneTimePreKey;
  // Verified above with the bundle; used only when no one-time pre-key was handed out.
  const lastResortPreKey = oneTimePreKey ? null : (input.bundle.lastResortPreKey ?? null);

  const outputs = [
    dh(ed25519.utils.toMontgomerySecret(identitySecret), signedPreKey, "The responder's signed pre-key"),
    dh(ephemeralSecret, edToX25519Public(responderIdentity, "The responder's identity key"), "The responder's identity key"),
    dh(ephemeralSecret, signedPreKey, "The responder's signed pre-key"),
  ];
  if (oneTimePreKey) outputs.push(dh(ephemeralSecret, hexBytes(oneTimePreKey.publicKey, 'one-time pre-key', 32), "The responder's one-time pre-key"));
  else if (lastResortPreKey) {
    outputs.push(dh(ephemeralSecret, hexBytes(lastResortPreKey.publicKey, 'last-resort pre-key', 32), "The responder's last-resort pre-key"));
  }
  return {
    outputs,
    identityPublic,
    responderIdentity,
    ephemeralSecret,
    oneTimePreKeyId: oneTimePreKey?.keyId ?? null,
    lastResortPreKeyId: lastResortPreKey?.keyId ?? null,
  };
}

/** The initiator's side (Alice): derives SK from her identity key, a fresh ephemeral key and Bob's verified bundle. */
export function x3dhInitiate(input: InitiatorInput): InitiatorResult {
  const derived = initiatorDhOutputs(input);
  const result: InitiatorResult = {
    sharedSecret: x3dhKdf(derived.outputs),
    associatedData: concatBytes(derived.identityPublic, derived.responderIdentity),
    ephemeralPublicKey: encodeHex(x25519.getPublicKey(derived.ephemeralSecret)),
    signedPreKeyId: input.bundle.signedPreKey.keyId,
    oneTimePreKeyId: derived.oneTimePreKeyId,
    lastResortPreKeyId: derived.lastResortPreKeyId,
  };
  // The spec: delete the ephemeral secret and the DH outputs once SK is computed (a caller's own buffer is left alone).
  if (!input.ephemeralPrivateKey) derived.ephemeralSecret.fill(0);
  for (const output of derived.outputs) output.fill(0);
  return result;
}

/** The secret for DH4: the one-time pre-key's, else the last-resort pre-key's, else none. */
function dh4SecretOf(input: ResponderInput): Uint8Array | null {
  if (input.oneTimePreKeyPrivateKey && input.lastResortPreKeyPrivateKey) {
    throw new PrekeydError('INVALID_ARGUMENT', 'DH4 uses one key: give the one-time or the last-resort pre-key private key, not both');
  }
  if (input.oneTimePreKeyPrivateKey) return keyBytes(input.oneTimePreKeyPrivateKey, 'one-time pre-key private key');
  if (input.lastResortPreKeyPrivateKey) return keyBytes(input.lastResortPreKeyPrivateKey, 'last-resort pre-key private key');
  return null;
}

/** The responder's DH steps (shared by X3DH and PQXDH): the outputs, AD = IK_A ‖ IK_B. */
export function responderDhOutputs(input: ResponderInput): { outputs: Uint8Array[]; associatedData: Uint8Array } {
  const identitySecret = keyBytes(input.identityPrivateKey, 'identity private key');
  const signedPreKeySecret = keyBytes(input.signedPreKeyPrivateKey, 'signed pre-key private key');
  const initiatorIdentity = hexBytes(input.initiatorIdentityKey, 'initiator identity key', 32);
  const initiatorEphemeral = hexBytes(input.initiatorEphemeralKey, 'initiator ephemeral key', 32);

  const outputs = [
    dh(signedPreKeySecret, edToX25519Public(initiatorIdentity, "The initiator's identity key"), "The initiator's identity key"),
    dh(ed25519.utils.toMontgomerySecret(identitySecret), initiatorEphemeral, "The initiator's ephemeral key"),
    dh(signedPreKeySecret, initiatorEphemeral, "The initiator's ephemeral key"),
  ];
  const dh4Secret = dh4SecretOf(input);
  if (dh4Secret) outputs.push(dh(dh4Secret, initiatorEphemeral, "The initiator's ephemeral key"));
  return { outputs, associatedData: concatBytes(initiatorIdentity, ed25519.getPublicKey(identitySecret)) };
}

/** The responder's side (Bob): the same SK from his private keys and Alice's identity and ephemeral keys. */
export function x3dhRespond(input: ResponderInput): X3dhSecret {
  const { outputs, associatedData } = responderDhOutputs(input);
  const result = { sharedSecret: x3dhKdf(outputs), associatedData };
  for (const output of outputs) output.fill(0);
  return result;
}
