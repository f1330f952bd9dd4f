/**
 * The one error type of prekeyd. Domain code throws `AppError`; the HTTP layer maps
 * `code` to a status and the `{success:false, error, errorCode, details?}` envelope.
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

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorDetail {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Signal's `/v2` API answers some codes with its own status (a bad signature is 422 there). */
    private readonly statusOverride?: 422,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return this.statusOverride ?? errorStatus[this.code];
  }
}

export const notFound = (message: string) => new AppError('NOT_FOUND', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const invalid = (field: string, message: string) =>
  new AppError('VALIDATION_ERROR', `${field}: ${message}`, [{ field, message }]);
