/**
 * The server's error codes and the HTTP status each one answers with (SPEC §6): the one list,
 * shared by the server (src/domain/errors.ts maps domain errors with it) and the SDK (whose
 * `ServerErrorCode` is these keys), so that a code cannot exist on one side only.
 */
export const errorStatus = {
  VALIDATION_ERROR: 400,
  INVALID_SIGNATURE: 400,
  CHECKSUM_MISMATCH: 400,
  IMMUTABLE_FIELD: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  KEYS_SUSPENDED: 403,
  QUOTA_EXCEEDED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  KEYS_REVOKED: 410,
  KEYS_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
} as const;

export type ServerErrorCode = keyof typeof errorStatus;

export const isServerErrorCode = (code: unknown): code is ServerErrorCode => typeof code === 'string' && Object.hasOwn(errorStatus, code);
