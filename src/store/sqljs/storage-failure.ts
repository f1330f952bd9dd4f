// Disk failures of the durable store: the one error type callers see, and the hook tests use to
// make any write or fsync fail.

export interface FaultInjector {
  /** Called before each journal write and each fsync; return an Error to make that I/O fail as if the disk failed. */
  beforeWrite?(kind: 'write' | 'fsync'): Error | undefined;
}

/** The disk failed (write or fsync error): the transaction is not durable and was undone in memory. */
export class StorageUnavailableError extends Error {
  readonly code = 'UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

export function storageError(message: string, cause: unknown): StorageUnavailableError {
  if (cause instanceof StorageUnavailableError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StorageUnavailableError(`${message}: ${detail}`, { cause });
}

/** Throws the failure the injector asks for, if any, in place of the I/O about to happen. */
export function injectFault(faults: FaultInjector | undefined, kind: 'write' | 'fsync'): void {
  const err = faults?.beforeWrite?.(kind);
  if (err) throw err;
}
