/** Inserts an API key straight into a store, for tests that need a non-master principal. */
import { hashToken } from '../../src/domain/authentication.ts';
import type { Store } from '../../src/store/types.ts';

let sequence = 0;

export interface TestKeyOptions {
  projectId?: string;
  acl?: string[];
  userIds?: string[];
  expiresAt?: string | null;
  revoked?: boolean;
}

/** Returns the bearer token of a new key with the given ACL (default `*`) in the given project. */
export async function insertApiKey(store: Store, options: TestKeyOptions = {}): Promise<{ token: string; uid: string }> {
  const n = ++sequence;
  const token = `pkd_test_${n}_${crypto.randomUUID().replace(/-/g, '')}`;
  const uid = `key_test_${n}_${Date.now()}`;
  const now = new Date().toISOString();
  await store.transaction((tx) =>
    tx.apiKeys.insert({
      uid,
      projectId: options.projectId ?? 'default',
      hash: hashToken(token),
      prefix: token.slice(0, 12),
      description: `test key ${n}`,
      acl: options.acl ?? ['*'],
      userIds: options.userIds ?? ['*'],
      expiresAt: options.expiresAt ?? null,
      revoked: options.revoked ?? false,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
    }),
  );
  return { token, uid };
}
