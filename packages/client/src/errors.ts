/**
 * The SDK's one error type. Server failures carry the server's `errorCode`, HTTP status and
 * `details`; failures detected on the client (a forged bundle, a wrong backup password, a
 * tampered message) carry a client code and `status` 0.
 */
import type { ServerErrorCode } from './core/error-codes.ts';

/** Codes the server answers with (SPEC §6): the list the server itself uses (core/error-codes.ts). */
export type { ServerErrorCode };

/** Codes raised by the SDK itself, before or after talking to the server. */
export type ClientErrorCode =
  /** A bundle whose signed (or last-resort) pre-key signature does not verify, or malformed keys in it. */
  | 'BUNDLE_SIGNATURE_INVALID'
  /** A peer's public key that is malformed or of low order (the DH result would be predictable). */
  | 'INVALID_PEER_KEY'
  /** AES-GCM authentication failed: wrong key, wrong associated data, or a tampered message. */
  | 'DECRYPTION_FAILED'
  /** The backup did not decrypt: wrong password (or altered backup metadata). */
  | 'WRONG_PASSWORD'
  /** A backup whose algorithm, parameters or content the SDK does not accept. */
  | 'UNSUPPORTED_BACKUP'
  /** The private key a session needs is not in the private keys given. */
  | 'MISSING_PRIVATE_KEY'
  /** An argument the SDK cannot use (bad hex, wrong length, n out of range). */
  | 'INVALID_ARGUMENT'
  /** `requirePostQuantum`: the responder has no ML-KEM pre-key to hand out (no session was started). */
  | 'POST_QUANTUM_UNAVAILABLE'
  /** A PQXDH session whose initiator has not sent its KEM ciphertext yet. */
  | 'SESSION_NOT_READY'
  /** fetch failed: no connection, DNS, TLS, aborted. */
  | 'NETWORK_ERROR'
  /** The server answered something that is not prekeyd's JSON envelope. */
  | 'INVALID_RESPONSE'
  /** An event handler given to subscribe threw (the subscription carries on). */
  | 'EVENT_HANDLER_FAILED'
  /** No WebSocket constructor is available (pass one in the client options). */
  | 'WEBSOCKET_UNAVAILABLE'
  /** Transparency is required and the answer carries no proof. */
  | 'TRANSPARENCY_MISSING'
  /** A transparency proof that does not verify: checkpoint signature, witness quorum, or inclusion proof. */
  | 'TRANSPARENCY_INVALID'
  /** The keys (or anchor) served are not the ones the verified log leaf describes. */
  | 'TRANSPARENCY_MISMATCH'
  /** A checkpoint inconsistent with one this client verified before: the log forked or rolled back. */
  | 'TRANSPARENCY_INCONSISTENT';

/** Every client code, at run time (the `Record` makes the compiler keep it complete). */
export const clientErrorCodes = Object.keys({
  BUNDLE_SIGNATURE_INVALID: true,
  INVALID_PEER_KEY: true,
  DECRYPTION_FAILED: true,
  WRONG_PASSWORD: true,
  UNSUPPORTED_BACKUP: true,
  MISSING_PRIVATE_KEY: true,
  INVALID_ARGUMENT: true,
  POST_QUANTUM_UNAVAILABLE: true,
  SESSION_NOT_READY: true,
  NETWORK_ERROR: true,
  INVALID_RESPONSE: true,
  EVENT_HANDLER_FAILED: true,
  WEBSOCKET_UNAVAILABLE: true,
  TRANSPARENCY_MISSING: true,
  TRANSPARENCY_INVALID: true,
  TRANSPARENCY_MISMATCH: true,
  TRANSPARENCY_INCONSISTENT: true,
} satisfies Record<ClientErrorCode, true>) as ClientErrorCode[];

export type PrekeydErrorCode = ServerErrorCode | ClientErrorCode;

export interface PrekeydErrorDetail {
  field: string;
  message: string;
}

export class PrekeydError extends Error {
  override readonly name = 'PrekeydError';
  readonly errorCode: PrekeydErrorCode;
  /** HTTP status of the server's answer; 0 for errors raised on the client. */
  readonly status: number;
  readonly details: PrekeydErrorDetail[] | undefined;
  /** Seconds to wait before retrying, from `Retry-After` on a 429. */
  readonly retryAfter: number | undefined;

  constructor(
    errorCode: PrekeydErrorCode,
    message: string,
    options: { status?: number; details?: PrekeydErrorDetail[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errorCode = errorCode;
    this.status = options.status ?? 0;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

export const isPrekeydError = (error: unknown): error is PrekeydError => error instanceof PrekeydError;
