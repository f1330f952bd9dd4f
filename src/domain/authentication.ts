/**
 * Turning a bearer token into a principal. Tokens are never stored: the master key and API
 * keys are kept as SHA-256 hashes and compared in constant time.
 */
import { hasValidApiKeyChecksum, looksLikeApiKey } from '../crypto/api-key-format.ts';
import { sha256Hex } from '../crypto/keys.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { masterPrincipal, type Principal } from './principal.ts';

export const projectIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
export const defaultProjectId = 'default';

export const hashToken = (token: string): string => sha256Hex(token);

/** Constant-time equality of two equal-length hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

const unauthorized = () => new AppError('UNAUTHORIZED', 'Missing or invalid API key');

/** A 401 for a key that exists but is revoked or expired: its project and uid, for the refusal counts. */
export class RefusedKeyError extends AppError {
  constructor(
    readonly projectId: string,
    readonly actor: string,
  ) {
    super('UNAUTHORIZED', 'Missing or invalid API key');
  }
}

export interface Authenticator {
  /** Resolves a bearer token; `projectHeader` is the `X-Project-Id` the master key acts on. */
  authenticate(token: string | undefined, projectHeader: string | undefined): Promise<Principal>;
}

/** `lastUsedAt` is bookkeeping, not worth an fsync per request: it is written in batches. */
class UsageRecorder {
  private pending = new Map<string, string>();

  constructor(private readonly deps: Deps) {}

  record(uid: string, at: string): void {
    this.pending.set(uid, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await this.deps.store.transaction(async (tx) => {
      for (const [uid, at] of batch) await tx.apiKeys.touch(uid, at);
    });
  }
}

export function createAuthenticator(deps: Deps, masterKeyHash: string): Authenticator & { flushUsage(): Promise<void> } {
  const usage = new UsageRecorder(deps);
  return {
    flushUsage: () => usage.flush(),
    async authenticate(token, projectHeader) {
      if (!token) throw unauthorized();
      const hash = hashToken(token);
      if (digestsEqual(hash, masterKeyHash)) {
        const projectId = projectHeader ?? defaultProjectId;
        if (!projectIdPattern.test(projectId)) {
          throw new AppError('VALIDATION_ERROR', 'X-Project-Id must match [A-Za-z0-9_-]{1,64}', [
            { field: 'X-Project-Id', message: 'must match [A-Za-z0-9_-]{1,64}' },
          ]);
        }
        return masterPrincipal(projectId);
      }
      // A key in prekeyd's format with a wrong checksum is a typo or a forgery: no lookup needed.
      if (looksLikeApiKey(token) && !hasValidApiKeyChecksum(token)) throw unauthorized();
      const key = await deps.store.transaction((tx) => tx.apiKeys.findByHash(hash));
      // The lookup is by hash, so its timing reveals nothing about the secret; compare anyway.
      if (!key || !digestsEqual(key.hash, hash)) throw unauthorized();
      const now = deps.clock.now();
      if (key.revoked || (key.expiresAt !== null && Date.parse(key.expiresAt) <= now.getTime())) throw new RefusedKeyError(key.projectId, key.uid);
      usage.record(key.uid, now.toISOString());
      return { kind: 'apiKey', projectId: key.projectId, actor: key.uid, acl: key.acl, userIds: key.userIds, expiresAt: key.expiresAt };
    },
  };
}
