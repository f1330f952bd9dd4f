/**
 * Server-assisted X3DH / PQXDH: the initiator asks `/v1/keys/shared-secret` for the responder's
 * bundle (publishing a fresh ephemeral key); with the responder's ML-KEM pre-key in it, the
 * initiator runs PQXDH and sends the KEM ciphertext (`…/kem-ciphertext`), else X3DH. The
 * responder reads the session and derives the same SK.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { encodeHex, hexBytes, keyBytes } from './bytes.ts';
import { fingerprint } from './core/keys.ts';
import { PrekeydError } from './errors.ts';
import type { Transport } from './http.ts';
import { pqxdhInitiate, pqxdhRespond } from './pqxdh.ts';
import type { CompletedSession, PreKeyPair, PrivateKeys, SessionView, SharedSecretRequest, SharedSecretResponse } from './types.ts';
import { type InitiatorResult, x3dhInitiate, x3dhRespond } from './x3dh.ts';

/** Which key agreement a session ran: PQXDH, or X3DH when the responder had no ML-KEM pre-key (or PQ was turned off). */
export type KeyAgreement = 'PQXDH' | 'X3DH';

export const x3dhFallbackWarning = 'The responder has no post-quantum pre-key: the session used X3DH and is not protected against a future quantum computer.';

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
  /** PQXDH, or X3DH as a fallback (then `postQuantum` is false and `warning` says so). */
  protocol: KeyAgreement;
  postQuantum: boolean;
  /** The responder's ML-KEM pre-key encapsulated to, or null (X3DH). */
  pqPreKeyId: string | null;
  /** True when that was the responder's last-resort ML-KEM pre-key (its one-time ones had run out). */
  pqPreKeyLastResort: boolean;
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
  protocol: KeyAgreement;
  /** The one-time ML-KEM pre-key this session used, or null: delete its secret from pqOneTimePreKeys now. */
  consumedPqPreKeyId: string | null;
  /** The last-resort ML-KEM pre-key this session used, or null (keep it). */
  pqLastResortPreKeyId: string | null;
  session: SessionView | CompletedSession;
}

export interface EstablishOptions {
  /** The responder's device (default: the server's default device). */
  responderDeviceId?: string;
  /** Run PQXDH when the responder has ML-KEM pre-keys (default true); false: X3DH only. */
  postQuantum?: boolean;
  /** Refuse (POST_QUANTUM_UNAVAILABLE, no session started) a responder without ML-KEM pre-keys instead of falling back to X3DH. */
  requirePostQuantum?: boolean;
}

export interface AcceptOptions {
  /** Mark the session completed on the server (audit SHARED_SECRET_COMPLETED). Default true. */
  complete?: boolean;
}

/** First 16 hex characters of SHA-256 of the identity key bytes (SPEC §3). */
export const identityKeyFingerprint = (identityKey: string): string => fingerprint(hexBytes(identityKey, 'identity key', 32));

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
  const requirePostQuantum = options.requirePostQuantum === true;
  const postQuantum = requirePostQuantum || options.postQuantum !== false;
  const body: SharedSecretRequest = {
    initiatorUserId,
    responderUserId,
    initiatorEphemeralKey: encodeHex(x25519.getPublicKey(ephemeralSecret)),
    // Names our key set: with several devices, the responder must use this device's identity key.
    initiatorIdentityKey: encodeHex(ed25519.getPublicKey(identitySecret)),
    ...(options.responderDeviceId !== undefined && { responderDeviceId: options.responderDeviceId }),
    ...(postQuantum && { postQuantum: true }),
    ...(requirePostQuantum && { requirePostQuantum: true }),
  };
  try {
    const answer = await requestSession(transport, body);
    const bundle = answer.responderBundle;
    await checkResponder?.(bundle);
    const pqPreKey = bundle.pqPreKey ?? null;
    if (requirePostQuantum && pqPreKey === null) {
      throw new PrekeydError('POST_QUANTUM_UNAVAILABLE', `User ${responderUserId} has no post-quantum pre-key; refusing X3DH (requirePostQuantum)`);
    }
    let derived: InitiatorResult;
    let pq: { pqPreKeyId: string; pqPreKeyLastResort: boolean } | undefined;
    if (pqPreKey) {
      const result = pqxdhInitiate({ identityPrivateKey: identitySecret, ephemeralPrivateKey: ephemeralSecret, bundle: { ...bundle, pqPreKey } });
      const path = `/v1/keys/shared-secret/${encodeURIComponent(answer.sessionId)}/kem-ciphertext`;
      await transport.request('POST', path, { body: { kemCiphertext: result.kemCiphertext } });
      derived = result;
      pq = { pqPreKeyId: result.pqPreKeyId, pqPreKeyLastResort: result.pqPreKeyLastResort };
    } else {
      derived = x3dhInitiate({ identityPrivateKey: identitySecret, ephemeralPrivateKey: ephemeralSecret, bundle });
    }
    const warning = bundle.warning ?? (postQuantum && !pq ? x3dhFallbackWarning : undefined);
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
      protocol: pq ? 'PQXDH' : 'X3DH',
      postQuantum: pq !== undefined,
      pqPreKeyId: pq?.pqPreKeyId ?? null,
      pqPreKeyLastResort: pq?.pqPreKeyLastResort ?? false,
      ...(warning !== undefined && { warning }),
    };
  } finally {
    ephemeralSecret.fill(0);
  }
}

/** The server refuses `requirePostQuantum` sessions to responders without ML-KEM pre-keys before consuming anything. */
async function requestSession(transport: Transport, body: SharedSecretRequest): Promise<SharedSecretResponse> {
  try {
    return await transport.request<SharedSecretResponse>('POST', '/v1/keys/shared-secret', { body });
  } catch (error) {
    const refusedPq = error instanceof PrekeydError && error.errorCode === 'CONFLICT' && error.details?.some((detail) => detail.field === 'requirePostQuantum');
    if (!refusedPq) throw error;
    throw new PrekeydError('POST_QUANTUM_UNAVAILABLE', `User ${body.responderUserId} has no post-quantum pre-key; refusing X3DH (requirePostQuantum)`, {
      cause: error,
    });
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

const signedPreKeySecret = (keys: PrivateKeys, keyId: string): string => secretOf('signed pre-key', keyId, keys.signedPreKey, keys.previousSignedPreKeys);

const lastResortPreKeySecret = (keys: PrivateKeys, keyId: string): string =>
  secretOf('last-resort pre-key', keyId, keys.lastResortPreKey, keys.previousLastResortPreKeys);

/** The ML-KEM seed of the session's PQ pre-key: a one-time one, or the (current or a replaced) last-resort one. */
function pqPreKeySecret(keys: PrivateKeys, session: SessionView & { pqPreKeyId: string }): string {
  if (session.pqPreKeyLastResort) {
    return secretOf('post-quantum last-resort pre-key', session.pqPreKeyId, keys.pqLastResortPreKey, keys.previousPqLastResortPreKeys);
  }
  const secret = keys.pqOneTimePreKeys?.[session.pqPreKeyId];
  if (secret === undefined) {
    throw new PrekeydError(
      'MISSING_PRIVATE_KEY',
      `The session used post-quantum one-time pre-key ${session.pqPreKeyId}, which is not among the private keys given (already used, or never stored)`,
    );
  }
  return secret;
}

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
  // A server from before last-resort (or PQXDH) sessions does not send the fields: none was used.
  const lastResortPreKeyId = session.lastResortPreKeyId ?? null;
  const pqPreKeyId = session.pqPreKeyId ?? null;
  const x3dhInput = {
    identityPrivateKey: responderKeys.identityKey,
    signedPreKeyPrivateKey: signedPreKeySecret(responderKeys, session.signedPreKeyId),
    oneTimePreKeyPrivateKey: oneTimePreKeySecret ?? null,
    lastResortPreKeyPrivateKey: lastResortPreKeyId === null ? null : lastResortPreKeySecret(responderKeys, lastResortPreKeyId),
    initiatorIdentityKey: session.initiatorIdentityKey,
    initiatorEphemeralKey: session.initiatorEphemeralKey,
  };
  let derived: ReturnType<typeof x3dhRespond>;
  if (pqPreKeyId !== null) {
    if (!session.kemCiphertext) {
      throw new PrekeydError('SESSION_NOT_READY', `Session ${session.sessionId} has no KEM ciphertext yet: the initiator has not finished PQXDH`);
    }
    const pqPreKeyPrivateKey = pqPreKeySecret(responderKeys, { ...session, pqPreKeyId });
    derived = pqxdhRespond({ ...x3dhInput, pqPreKeyPrivateKey, kemCiphertext: session.kemCiphertext });
  } else {
    derived = x3dhRespond(x3dhInput);
  }
  const finalSession = options.complete === false ? session : await transport.request<CompletedSession>('POST', `${path}/complete`);
  const pqLastResort = pqPreKeyId !== null && session.pqPreKeyLastResort;
  return {
    sessionId: session.sessionId,
    sharedSecret: derived.sharedSecret,
    associatedData: derived.associatedData,
    initiatorUserId: session.initiatorUserId,
    initiatorIdentityKey: session.initiatorIdentityKey,
    initiatorIdentityFingerprint: identityKeyFingerprint(session.initiatorIdentityKey),
    consumedOneTimePreKeyId: session.oneTimePreKeyId,
    lastResortPreKeyId,
    protocol: pqPreKeyId !== null ? 'PQXDH' : 'X3DH',
    consumedPqPreKeyId: pqPreKeyId !== null && !pqLastResort ? pqPreKeyId : null,
    pqLastResortPreKeyId: pqLastResort ? pqPreKeyId : null,
    session: finalSession,
  };
}
