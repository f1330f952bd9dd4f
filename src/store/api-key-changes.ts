/**
 * Which API keys a transaction revoked, narrowed or deleted, told to `Store.onApiKeyChanges`
 * listeners once the transaction is durable, before `transaction()` resolves: the push hub
 * stops a revoked key's sockets before the HTTP answer acknowledging the revocation is sent.
 * Both backends wrap their transaction's `apiKeys` repository with `recordApiKeyChanges`.
 */
import type { ApiKeyRepository, StoreTx } from './types.ts';

/** `null`: changes may have been missed (a lost PostgreSQL listener connection): re-check every key. */
export type ApiKeyChangeListener = (uids: readonly string[] | null) => void;

/** What can change a key's rights: description and `lastUsedAt` changes cannot. */
const rightsFields = ['acl', 'userIds', 'revoked'] as const;

export function recordApiKeyChanges(tx: StoreTx, changed: Set<string>): StoreTx {
  const keys = tx.apiKeys;
  const apiKeys: ApiKeyRepository = {
    insert: (key) => keys.insert(key),
    findByHash: (hash) => keys.findByHash(hash),
    get: (uid) => keys.get(uid),
    list: (query) => keys.list(query),
    touch: (uid, at) => keys.touch(uid, at),
    async update(uid, changes) {
      await keys.update(uid, changes);
      if (rightsFields.some((field) => changes[field] !== undefined)) changed.add(uid);
    },
    async delete(uid) {
      const deleted = await keys.delete(uid);
      if (deleted) changed.add(uid);
      return deleted;
    },
  };
  return { ...tx, apiKeys };
}

export class ApiKeyChangeListeners {
  private readonly listeners = new Set<ApiKeyChangeListener>();

  add(listener: ApiKeyChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(uids: readonly string[] | null): void {
    for (const listener of this.listeners) {
      try {
        listener(uids);
      } catch {
        // one failing listener must not keep the others from hearing of a revocation
      }
    }
  }
}
