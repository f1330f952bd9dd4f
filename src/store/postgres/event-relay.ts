/**
 * Delivers committed events to this instance's `onEvents` listeners, whichever instance
 * committed them. The events table is the source of truth; notifications only say "project P
 * has events up to id N". Per project, one reader at a time reads `id > last delivered` in id
 * order and hands the rows to the listeners, so every event is delivered once and in order:
 * - appending an event also calls `pg_notify(channel, projectId)`: delivered on COMMIT, once per
 *   transaction and project, to every listening instance including this one;
 * - the committing instance also catches the project up right after COMMIT, so its listeners
 *   have the events before `transaction()` resolves (as on the embedded store); the notification
 *   arriving later finds nothing new;
 * - event ids of a project are committed in id order (the project write lock), so reading by
 *   "id > last delivered" never skips one that commits later;
 * - after (re)connecting the listener, and every few seconds, `event_heads` is compared with
 *   what was delivered, so a lost notification only delays delivery.
 * The same channel carries API-key changes (`apiKey:uid,uid…`; `:` is no project id character),
 * so every instance closes a revoked key's sockets at once; after a reconnect, when some may
 * have been missed, listeners are told to re-check every key.
 */
import { ApiKeyChangeListeners } from '../api-key-changes.ts';
import type { StoredEvent } from '../types.ts';
import type { PgDriver } from './query-client.ts';
import { toEvent } from '../rows.ts';

const pageSize = 500;
const apiKeyPrefix = 'apiKey:';

/** The payload announcing changed API keys (uids are [A-Za-z0-9_-]: no separator inside). */
export const apiKeyNotification = (uids: readonly string[]): string => `${apiKeyPrefix}${uids.join(',')}`;
const pollEveryMs = 5_000;

export class EventRelay {
  private readonly delivered = new Map<string, number>();
  private readonly readers = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(events: StoredEvent[]) => void>();
  private readonly keyListeners = new ApiKeyChangeListeners();
  private stopListening: (() => Promise<void>) | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** Settles once the starting point (each project's newest event id) is known. */
  private readonly initialized: Promise<void>;
  private markInitialized: (error?: unknown) => void = () => undefined;

  constructor(
    private readonly driver: PgDriver,
    readonly channel: string,
  ) {
    this.initialized = new Promise<void>((resolve, reject) => {
      this.markInitialized = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.initialized.catch(() => undefined); // start() reports the failure
  }

  /** Starts listening; events committed before this are never delivered, later ones always. */
  async start(): Promise<void> {
    let first = true;
    this.stopListening = await this.driver.listen(
      this.channel,
      (payload) => this.onNotify(payload),
      () => {
        // The first call sets the starting point; after a reconnect, catch up what was missed.
        const initial = first;
        first = false;
        if (!initial) this.keyListeners.emit(null);
        this.resync(initial).catch(() => undefined);
      },
    );
    await this.initialized;
    this.poller = setInterval(() => void this.resync(false).catch(() => undefined), pollEveryMs);
    this.poller.unref?.();
  }

  onEvents(listener: (events: StoredEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onApiKeyChanges(listener: (uids: readonly string[] | null) => void): () => void {
    return this.keyListeners.add(listener);
  }

  /** Keys this instance changed, told to its own listeners right after COMMIT. */
  apiKeysChanged(uids: readonly string[]): void {
    this.keyListeners.emit(uids);
  }

  /** Delivers every committed event of `projectId` up to at least `upToId` (Infinity: all there are). */
  catchUp(projectId: string, upToId: number): Promise<void> {
    const previous = this.readers.get(projectId) ?? Promise.resolve();
    const next = previous.then(() => this.readNew(projectId, upToId));
    const settled = next.catch(() => undefined);
    this.readers.set(projectId, settled);
    void settled.then(() => {
      if (this.readers.get(projectId) === settled) this.readers.delete(projectId);
    });
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    await this.stopListening?.();
    await Promise.all(this.readers.values());
  }

  /** A project id (read whatever is new there) or an API-key change. */
  private onNotify(payload: string): void {
    if (payload.startsWith(apiKeyPrefix)) {
      this.keyListeners.emit(
        payload
          .slice(apiKeyPrefix.length)
          .split(',')
          .filter((uid) => uid.length > 0),
      );
      return;
    }
    const projectId = payload;
    if (projectId) this.catchUp(projectId, Number.POSITIVE_INFINITY).catch(() => undefined);
  }

  private async resync(initial: boolean): Promise<void> {
    try {
      const { rows } = await this.driver.query<{ project_id: unknown; last_id: unknown }>('SELECT project_id, last_id FROM event_heads');
      for (const row of rows) {
        const projectId = String(row.project_id);
        const lastId = Number(row.last_id);
        if (initial) {
          if (!this.delivered.has(projectId)) this.delivered.set(projectId, lastId);
        } else if (lastId > (this.delivered.get(projectId) ?? 0)) {
          await this.catchUp(projectId, lastId).catch(() => undefined);
        }
      }
      if (initial) this.markInitialized();
    } catch (error) {
      if (initial) this.markInitialized(error);
      throw error;
    }
  }

  private async readNew(projectId: string, upToId: number): Promise<void> {
    await this.initialized;
    for (;;) {
      const after = this.delivered.get(projectId) ?? 0;
      if (this.closed || after >= upToId) return;
      const { rows } = await this.driver.query('SELECT * FROM events WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3', [projectId, after, pageSize]);
      if (rows.length === 0) return; // deleted by retention meanwhile
      const events = rows.map(toEvent);
      this.delivered.set(projectId, Number(events[events.length - 1]!.id));
      for (const listener of this.listeners) {
        try {
          listener(events);
        } catch {
          // one failing listener must not stop delivery to the others
        }
      }
      if (rows.length < pageSize) return;
    }
  }
}
