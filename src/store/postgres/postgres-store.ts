/**
 * The PostgreSQL backend: several prekeyd instances on one database. One transaction = one
 * pooled connection between BEGIN and COMMIT (READ COMMITTED, durable on COMMIT). Correctness
 * under concurrency comes from row locks on the key sets a transaction reads, SKIP LOCKED for
 * one-time pre-keys, and a per-project advisory lock for the audit chain and event ids
 * (tx-context.ts); what still collides (serialization failures, deadlocks, unique violations
 * from a concurrent commit) is retried by re-running the transaction body.
 */
import type { Store, StoredEvent, StoreTx } from '../types.ts';
import { recordApiKeyChanges } from '../api-key-changes.ts';
import { PgCounters } from './counters.ts';
import { SqlDeviceLists } from '../sql/device-lists.ts';
import { SqlKeySets } from '../sql/key-repositories.ts';
import { SqlApiKeys, SqlBackups, SqlPublicKeys, SqlSessions, SqlSettings } from '../sql/repositories.ts';
import { flushAudit, PgAudit, PgEvents } from './audit-events.ts';
import { apiKeyNotification, EventRelay } from './event-relay.ts';
import { PgOneTimePreKeys } from './one-time-pre-keys.ts';
import { isRetryable, isUnavailable, type PgDriver, PostgresUnavailableError, sqlState } from './query-client.ts';
import { PgTransparency } from './transparency.ts';
import { migrate } from './schema.ts';
import { newTxContext, type TxContext } from './tx-context.ts';

const maxAttempts = 8;
const uniqueViolationAttempts = 3;

/** The shared repositories (src/store/sql); the Pg ones add locks, batching and notifications. */
function repositories(ctx: TxContext): StoreTx {
  const { sql } = ctx;
  return {
    keySets: new SqlKeySets(sql),
    oneTimePreKeys: new PgOneTimePreKeys(ctx),
    backups: new SqlBackups(sql),
    sessions: new SqlSessions(sql),
    audit: new PgAudit(ctx),
    events: new PgEvents(ctx),
    apiKeys: new SqlApiKeys(sql),
    publicKeys: new SqlPublicKeys(sql),
    settings: new SqlSettings(sql),
    deviceLists: new SqlDeviceLists(sql),
    transparency: new PgTransparency(ctx),
  };
}

/** The newest id appended per project, in a transaction's events. */
function newestIds(events: StoredEvent[]): Map<string, string> {
  const newest = new Map<string, string>();
  for (const event of events) newest.set(event.projectId, event.id); // appended in increasing id order
  return newest;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Channel of this schema's events: stores in different schemas of one database must not wake each other. */
async function channelFor(driver: PgDriver): Promise<string> {
  const { rows } = await driver.query<{ schema: unknown }>('SELECT current_schema() AS schema');
  const schema = String(rows[0]?.schema ?? 'public');
  return schema === 'public' ? 'prekeyd_events' : `prekeyd_events_${schema}`.slice(0, 63);
}

export async function openPostgresStore(driver: PgDriver): Promise<Store> {
  try {
    await driver.withClient((client) => migrate(client));
    const relay = new EventRelay(driver, await channelFor(driver));
    await relay.start();
    return createStore(driver, relay);
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Whether the database answers, for /readyz (a load balancer then routes around this instance).
 * A statement failing as "unavailable" marks it down; from then on a probe runs every second
 * until the database answers again, so readiness comes back without waiting for traffic.
 */
class Health {
  up = true;
  private probe: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly driver: PgDriver) {}

  observe(error: unknown): void {
    if (!isUnavailable(error) || !this.up) return;
    this.up = false;
    this.probe = setInterval(() => {
      this.driver.query('SELECT 1').then(
        () => this.markUp(),
        () => undefined,
      );
    }, 1000);
    this.probe.unref?.();
  }

  markUp(): void {
    this.up = true;
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }
}

function createStore(driver: PgDriver, relay: EventRelay): Store {
  let open = true;
  const health = new Health(driver);
  const counters = new PgCounters(driver);

  async function attempt<T>(fn: (tx: StoreTx) => Promise<T>): Promise<{ result: T; appended: StoredEvent[]; changedKeys: string[] }> {
    return driver.withClient(async (client) => {
      // A fresh context per attempt: a retried body must not publish the events of an aborted one.
      const ctx = newTxContext(client, relay.channel);
      const changedKeys = new Set<string>();
      await client.query('BEGIN');
      try {
        const result = await fn(recordApiKeyChanges(repositories(ctx), changedKeys));
        await flushAudit(ctx);
        // Delivered on COMMIT to every instance: their push hubs re-check the keys' sockets.
        if (changedKeys.size > 0) await client.query('SELECT pg_notify($1, $2)', [relay.channel, apiKeyNotification([...changedKeys])]);
        await client.query('COMMIT');
        return { result, appended: ctx.appended, changedKeys: [...changedKeys] };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  return {
    kind: 'postgres',
    counters,
    async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
      if (!open) throw new PostgresUnavailableError('the store is closed');
      for (let attemptNo = 1; ; attemptNo++) {
        let outcome: { result: T; appended: StoredEvent[]; changedKeys: string[] };
        try {
          outcome = await attempt(fn);
        } catch (error) {
          health.observe(error);
          // A unique violation that persists is a real conflict (the body checks first), not a race.
          const limit = sqlState(error) === '23505' ? uniqueViolationAttempts : maxAttempts;
          if (!isRetryable(error) || attemptNo >= limit) throw error;
          await pause(Math.random() * 5 * 2 ** Math.min(attemptNo, 6)); // spread the retries out
          continue;
        }
        if (!health.up) health.markUp();
        // This instance's hub first, before the answer (the notification reaches the others).
        if (outcome.changedKeys.length > 0) relay.apiKeysChanged(outcome.changedKeys);
        if (outcome.appended.length > 0) {
          // Committed: deliver through the relay (ordered with other instances' events). A failed
          // read here is retried by the relay's poll; the transaction itself succeeded.
          await Promise.all([...newestIds(outcome.appended)].map(([projectId, maxId]) => relay.catchUp(projectId, Number(maxId)).catch(() => undefined)));
        }
        return outcome.result;
      }
    },
    onEvents: (listener) => relay.onEvents(listener),
    onApiKeyChanges: (listener) => relay.onApiKeyChanges(listener),
    isReady: () => open && health.up,
    stats: () => driver.stats(),
    async close() {
      if (!open) return;
      open = false;
      health.markUp(); // stops the probe
      await relay.close();
      await driver.close();
    },
  };
}
