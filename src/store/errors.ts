/** Backend-neutral recognition of "the storage cannot take writes right now" (answered with 503). */
export function isStorageUnavailable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'UNAVAILABLE';
}

/** The backend does not offer this operation (answered 400 VALIDATION_ERROR by http/errors.ts: the request asks for the impossible). */
export class UnsupportedByBackendError extends Error {
  override readonly name = 'UnsupportedByBackendError';
}
