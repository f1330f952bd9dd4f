/** `PgDriver` over a `pg` connection pool, plus one dedicated connection for LISTEN. */
import pg from 'pg';
import { asStorageError, isUnavailable, type PgDriver, type QueryClient, quoteIdent, type SqlValue } from './query-client.ts';

export interface PgPoolDriverOptions {
  url: string;
  poolSize: number;
  /** Tables live in this schema (tests); by default the server's search_path decides. */
  schema?: string;
}

const reconnectDelaysMs = [250, 500, 1000, 2000, 5000];

export async function createPgPoolDriver(options: PgPoolDriverOptions): Promise<PgDriver> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // Past this, a request waiting for a connection answers 503 rather than hanging.
    connectionTimeoutMillis: 30_000,
    application_name: 'prekeyd',
  });
  // An idle client that loses its connection is dropped by the pool; the next checkout reconnects.
  pool.on('error', () => undefined);
  // Session settings, applied once per connection before its first use. Commits must be durable
  // (SPEC §6): refuse to inherit synchronous_commit=off from the server or role; stronger
  // settings (remote_apply…) are kept.
  const prepared = new WeakSet<pg.PoolClient>();
  const sessionSetup = [
    `SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'`,
    ...(options.schema === undefined ? [] : [`SET search_path TO ${quoteIdent(options.schema)}`]),
  ];

  const run = async (client: pg.PoolClient | pg.Pool, text: string, params?: SqlValue[]) => {
    const result = await client.query(text, params);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  };

  const driver: PgDriver = {
    async withClient(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw asStorageError(error);
      }
      let broken: Error | undefined;
      if (!prepared.has(client)) {
        try {
          for (const statement of sessionSetup) await client.query(statement);
          prepared.add(client);
        } catch (error) {
          client.release(error as Error);
          throw asStorageError(error);
        }
      }
      // The connection can die between statements (nothing in flight to receive the error): pg
      // then emits 'error' on the client, which would crash the process without a listener.
      const onError = (error: Error) => (broken = error);
      client.on('error', onError);
      const wrapped: QueryClient = {
        async query(text, params) {
          try {
            return (await run(client, text, params)) as never;
          } catch (error) {
            if (isUnavailable(error)) broken = error as Error;
            throw asStorageError(error);
          }
        },
      };
      try {
        return await fn(wrapped);
      } finally {
        client.off('error', onError);
        client.release(broken); // a broken connection is destroyed, not reused
      }
    },
    async query(text, params) {
      return driver.withClient((client) => client.query(text, params));
    },
    async listen(channel, onNotify, onResync) {
      let closed = false;
      let current: pg.Client | undefined;
      let attempt = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;

      const connect = async (): Promise<void> => {
        const client = new pg.Client({ connectionString: options.url, application_name: 'prekeyd-listen' });
        client.on('notification', (message) => {
          if (message.channel === channel && message.payload !== undefined) onNotify(message.payload);
        });
        client.on('error', () => lost(client));
        client.on('end', () => lost(client));
        try {
          await client.connect();
          await client.query(`LISTEN ${quoteIdent(channel)}`);
        } catch (error) {
          client.end().catch(() => undefined);
          throw error;
        }
        if (closed) {
          await client.end().catch(() => undefined);
          return;
        }
        current = client;
        attempt = 0;
        onResync();
      };
      const lost = (client: pg.Client) => {
        if (closed || current !== client) return;
        current = undefined;
        client.end().catch(() => undefined);
        retry();
      };
      const retry = () => {
        if (closed) return;
        const delay = reconnectDelaysMs[Math.min(attempt++, reconnectDelaysMs.length - 1)]!;
        timer = setTimeout(() => connect().catch(retry), delay);
        timer.unref?.();
      };

      try {
        await connect();
      } catch (error) {
        throw asStorageError(error);
      }
      return async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        await current?.end().catch(() => undefined);
      };
    },
    stats: () => ({ pgPoolTotal: pool.totalCount, pgPoolIdle: pool.idleCount, pgPoolWaiting: pool.waitingCount }),
    close: () => pool.end(),
  };
  return driver;
}
