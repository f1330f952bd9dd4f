/**
 * The one error type of prekeyd. Domain code throws `AppError`; the HTTP layer maps
 * `code` to a status and the `{success:false, error, errorCode, details?}` envelope.
 */
import { errorStatus, type ServerErrorCode } from '../../packages/client/src/core/error-codes.ts';

// The code list is shared with the SDK (packages/client/src/core), which must know every code.
export { errorStatus };

export type ErrorCode = ServerErrorCode;

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
export const invalid = (field: string, message: string) => new AppError('VALIDATION_ERROR', `${field}: ${message}`, [{ field, message }]);
