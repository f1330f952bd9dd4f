/** The one place that turns errors into HTTP answers in the `{success:false, …}` envelope. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { AppError, type ErrorDetail } from '../domain/errors.ts';
import { isStorageUnavailable, UnsupportedByBackendError } from '../store/errors.ts';
import type { Logger } from '../log.ts';

export function errorBody(error: AppError) {
  return {
    success: false as const,
    error: error.message,
    errorCode: error.code,
    ...(error.details && error.details.length > 0 && { details: error.details }),
  };
}

export function errorResponse(c: Context, error: AppError): Response {
  return c.json(errorBody(error), error.status as ContentfulStatusCode);
}

export function validationError(error: ZodError): AppError {
  const details: ErrorDetail[] = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
  const summary = details
    .slice(0, 3)
    .map((detail) => `${detail.field}: ${detail.message}`)
    .join('; ');
  return new AppError('VALIDATION_ERROR', `Invalid request: ${summary}`, details);
}

/** Maps anything thrown while handling a request to an AppError; unknown errors are logged, never shown. */
export function toAppError(error: unknown, logger?: Logger): AppError {
  if (error instanceof AppError) return error;
  if (isStorageUnavailable(error)) return new AppError('UNAVAILABLE', 'Storage is unavailable; retry shortly');
  if (error instanceof UnsupportedByBackendError) return new AppError('VALIDATION_ERROR', error.message);
  if (error instanceof HTTPException) {
    if (error.status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'Request body too large');
    if (error.status === 415) return new AppError('VALIDATION_ERROR', 'Content-Type must be application/json');
    if (error.status === 401) return new AppError('UNAUTHORIZED', error.message || 'Unauthorized');
    if (error.status >= 400 && error.status < 500) return new AppError('VALIDATION_ERROR', error.message || 'Bad request');
  }
  logger?.error('unhandled error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return new AppError('INTERNAL_ERROR', 'Internal server error');
}
