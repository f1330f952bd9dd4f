/** Backend-neutral recognition of "the storage cannot take writes right now" (answered with 503). */
export function isStorageUnavailable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'UNAVAILABLE';
}
