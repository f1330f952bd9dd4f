/**
 * Server-assisted X3DH: the initiator asks `/v1/keys/shared-secret` for the responder's bundle
 * (publishing a fresh ephemeral key), the responder reads the session and derives the same SK.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeHex, hexBytes, keyBytes } from './bytes.ts';
import { PrekeydError } from './errors.ts';
import type { Transport } from './http.ts';
import type { CompletedSession, PreKeyPair, PrivateKeys, SessionView, SharedSecretRequest, SharedSecretResponse } from './types.ts';
import { x3dhInitiate, x3dhRespond } from './x3dh.ts';

/** An identity key: the whole PrivateKeys, or just the Ed25519 secret (bytes or hex), as in seed 004's example. */
export type IdentityKeyInput = PrivateKeys | Uint8Array | string;

export interface EstablishedSession {
  sessionId: string;
  /** SK: the 32-byte key, computed here and never sent anywhere. */
  sharedSecret: Uint8Array;
  /** AD = IK_A ‖ IK_B: bind it into every message (encrypt/decrypt's third argument). */
  associatedData: Uint8Array;
  expiresAt: string;
  initiatorUserId: string;
  responderUserId: string;
  /** The responder's identity key, hex, and its fingerprint (first 16 hex of its SHA-256) to compare out of band. */
  responderIdentityKey: string;
  responderIdentityFingerprint: string;
  signedPreKeyId: string;
  /** Null when the responder had no one-time pre-key left: reduced forward secrecy. */
  oneTimePreKeyId: string | null;
  /** With no one-time pre-key, the responder's last-resort pre-key used for DH4 instead (null: none, no DH4). */
  lastResortPreKeyId: string | null;
  ephemeralPublicKey: string;
  warning?: string;
}

export interface AcceptedSession {
  sessionId: string;
  sharedSecret: Uint8Array;
  associatedData: Uint8Array;
  initiatorUserId: string;
  initiatorIdentityKey: string;
  initiatorIdentityFingerprint: string;
  /**
   * The one-time pre-key this session used, or null. Delete its secret from your stored
   * private keys now (X3DH §3.3): it must never serve a second session.
   */
  consumedOneTimePreKeyId: string | null;
  /** The last-resort pre-key this session used for DH4, or null. Keep its secret: it is never consumed. */
  lastResortPreKeyId: string | null;
  session: SessionView | CompletedSession;
}

export interface EstablishOptions {
  /** The responder's device (default: the server's default device). */
  responderDeviceId?: string;
}

export interface AcceptOptions {
  /** Mark the session completed on the server (audit SHARED_SECRET_COMPLETED). Default true. */
  complete?: boolean;
}

/** First 16 hex characters of SHA-256 of the identity key bytes (SPEC §3). */
export const identityKeyFingerprint = (identityKey: string): string =>
  encodeHex(sha256(hexBytes(identityKey, 'identity key', 32))).slice(0, 16);

function identitySecretOf(keys: IdentityKeyInput): Uint8Array {
  if (typeof keys === 'string' || keys instanceof Uint8Array) return keyBytes(keys, 'identity private key');
  return keyBytes(keys?.identityKey, 'privateKeys.identityKey');
}

export async function establishSharedSecret(
  transport: Transport,
  initiatorUserId: string,
  responderUserId: string,
  initiatorKeys: IdentityKeyInput,
  options: EstablishOptions = {},
  /** Checks the responder's bundle before it is used (key transparency). */
  checkResponder?: (bundle: SharedSecretResponse['responderBundle']) => Promise<void>,
): Promise<EstablishedSession> {
  const identitySecret = identitySecretOf(initiatorKeys);
  const ephemeralSecret = x25519.utils.randomSecretKey();
  const body: SharedSecretRequest = {
    initiatorUserId,
    responderUserId,
    initiatorEphemeralKey: encodeHex(x25519.getPublicKey(ephemeralSecret)),
    // Names our key set: with several devices, the responder must use this device's identity key.
    initiatorIdentityKey: encodeHex(ed25519.getPublicKey(identitySecret)),
    ...(options.responderDeviceId !== undefined && { responderDeviceId: options.responderDeviceId }),
  };
  try {
    const answer = await transport.request<SharedSecretResponse>('POST', '/v1/keys/shared-secret', { body });
    const bundle = answer.responderBundle;
    await checkResponder?.(bundle);
    const derived = x3dhInitiate({ identityPrivateKey: identitySecret, ephemeralPrivateKey: ephemeralSecret, bundle });
    return {
      sessionId: answer.sessionId,
      sharedSecret: derived.sharedSecret,
      associatedData: derived.associatedData,
      expiresAt: answer.expiresAt,
      initiatorUserId,
      responderUserId,
      responderIdentityKey: bundle.identityKey,
      responderIdentityFingerprint: identityKeyFingerprint(bundle.identityKey),
      signedPreKeyId: derived.signedPreKeyId,
      oneTimePreKeyId: derived.oneTimePreKeyId,
      lastResortPreKeyId: derived.lastResortPreKeyId,
      ephemeralPublicKey: derived.ephemeralPublicKey,
      ...(bundle.warning !== undefined && { warning: bundle.warning }),
    };
  } finally {
    ephemeralSecret.fill(0);
  }
}

/** The current key or one replaced by a rotation: sessions started before it may still arrive. */
function secretOf(kind: string, keyId: string, current: PreKeyPair | undefined, previous: PreKeyPair[] | undefined): string {
  const pair = [current, ...(previous ?? [])].find((candidate) => candidate?.keyId === keyId);
  if (!pair) {
    throw new PrekeydError('MISSING_PRIVATE_KEY', `The session used ${kind} ${keyId}, which is not among the private keys given`);
  }
  return pair.privateKey;
}

const signedPreKeySecret = (keys: PrivateKeys, keyId: string): string =>
  secretOf('signed pre-key', keyId, keys.signedPreKey, keys.previousSignedPreKeys);

const lastResortPreKeySecret = (keys: PrivateKeys, keyId: string): string =>
  secretOf('last-resort pre-key', keyId, keys.lastResortPreKey, keys.previousLastResortPreKeys);

export async function acceptSharedSecret(
  transport: Transport,
  sessionId: string,
  responderKeys: PrivateKeys,
  options: AcceptOptions = {},
): Promise<AcceptedSession> {
  const path = `/v1/keys/shared-secret/${encodeURIComponent(sessionId)}`;
  const session = await transport.request<SessionView>('GET', path);
  let oneTimePreKeySecret: string | undefined;
  if (session.oneTimePreKeyId !== null) {
    oneTimePreKeySecret = responderKeys.oneTimePreKeys?.[session.oneTimePreKeyId];
    if (oneTimePreKeySecret === undefined) {
      throw new PrekeydError(
        'MISSING_PRIVATE_KEY',
        `The session used one-time pre-key ${session.oneTimePreKeyId}, which is not among the private keys given (already used, or never stored)`,
      );
    }
  }
  // A server from before last-resort sessions does not send the field: no last-resort key was used.
  const lastResortPreKeyId = session.lastResortPreKeyId ?? null;
  const derived = x3dhRespond({
    identityPrivateKey: responderKeys.identityKey,
    signedPreKeyPrivateKey: signedPreKeySecret(responderKeys, session.signedPreKeyId),
    oneTimePreKeyPrivateKey: oneTimePreKeySecret ?? null,
    lastResortPreKeyPrivateKey: lastResortPreKeyId === null ? null : lastResortPreKeySecret(responderKeys, lastResortPreKeyId),
    initiatorIdentityKey: session.initiatorIdentityKey,
    initiatorEphemeralKey: session.initiatorEphemeralKey,
  });
  const finalSession = options.complete === false ? session : await transport.request<CompletedSession>('POST', `${path}/complete`);
  return {
    sessionId: session.sessionId,
    sharedSecret: derived.sharedSecret,
    associatedData: derived.associatedData,
    initiatorUserId: session.initiatorUserId,
    initiatorIdentityKey: session.initiatorIdentityKey,
    initiatorIdentityFingerprint: identityKeyFingerprint(session.initiatorIdentityKey),
    consumedOneTimePreKeyId: session.oneTimePreKeyId,
    lastResortPreKeyId,
    session: finalSession,
  };
}
