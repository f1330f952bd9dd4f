/**
 * Connections to PostgreSQL. Losing the database (restarted, unreachable, failover): requests
 * answer 503 UNAVAILABLE in the error envelope, never 500; once it is back, the pool reconnects,
 * the event listener reconnects and catches up, and nothing committed is lost or delivered twice.
 * The store reaches PostgreSQL through a TCP proxy the test cuts and restores. Sessions are
 * durable whatever the server's default. Runs only with PREKEYD_TEST_PG_URL.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPoolDriver } from '../../src/store/postgres/pg-driver.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { isStorageUnavailable } from '../../src/store/errors.ts';
import type { StoredEvent } from '../../src/store/types.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { freshSchemaName, testPgUrl, withAdmin } from '../helpers/backend.ts';
import { registration } from '../helpers/keys.ts';

/** Forwards connections to PostgreSQL until cut: then open connections die and new ones are refused. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise((resolve) => this.server?.close(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

const schema = freshSchemaName();
let proxy: CuttableProxy;
let t: TestApp;

beforeAll(async () => {
  await withAdmin((client) => client.query(`CREATE SCHEMA "${schema}"`));
  const url = new URL(testPgUrl!);
  proxy = new CuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
  await proxy.open();
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const store = await openPostgresStore(await createPgPoolDriver({ url: url.toString(), poolSize: 3, schema }));
  t = await createTestApp({ store });
});

afterAll(async () => {
  await t?.store.close();
  await t?.close();
  await proxy?.cut();
  await withAdmin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
});

describe('PostgreSQL lost and back', () => {
  it('answers 503 while it is gone, then serves again; the listener catches up on what it missed, once', async () => {
    const seen: StoredEvent[] = [];
    t.store.onEvents((events) => seen.push(...events));
    expect((await t.call('POST', '/v1/keys/register', registration('lost_user', 10).body)).status).toBe(201);
    expect(seen.map((event) => event.event)).toEqual(['keys.registered', 'devices.changed']); // a device added moves the device list (issue 20)

    // A transaction open when the connection dies fails as "unavailable", not as an internal error.
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    const open = t.store.transaction(async (tx) => {
      await tx.settings.get('anything');
      await paused;
      return tx.settings.get('anything');
    });
    const failure = open.catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await proxy.cut();
    resume();
    expect(isStorageUnavailable(await failure)).toBe(true);

    const during = await Promise.all(Array.from({ length: 3 }, () => t.call('GET', '/v1/keys/bundle/lost_user')));
    for (const response of during) {
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ success: false, errorCode: 'UNAVAILABLE' });
    }
    expect((await t.call('GET', '/readyz', undefined, { token: null })).status).toBe(503); // the load balancer routes around it
    expect((await t.call('GET', '/healthz', undefined, { token: null })).status).toBe(200); // the process itself is fine

    await proxy.open();
    await expect.poll(async () => (await t.call('GET', '/readyz', undefined, { token: null })).status, { timeout: 10_000 }).toBe(200);
    // Events committed by another instance while this one's listener was away.
    const other = await openPostgresStore(await createPgPoolDriver({ url: testPgUrl!, poolSize: 1, schema }));
    try {
      await other.transaction((tx) =>
        tx.events.append({ projectId: 'default', userId: 'lost_user', event: 'keys.rotated', data: {}, createdAt: new Date().toISOString() }),
      );
    } finally {
      await other.close();
    }
    const after = await t.call('GET', '/v1/keys/bundle/lost_user');
    expect(after.status).toBe(200);
    expect(after.body.data.remainingOneTimePreKeys).toBe(9); // the 503s consumed nothing

    const stored = await t.store.transaction((tx) => tx.events.listAfter('default', ['lost_user'], '0', 100));
    expect(stored.map((event) => event.event)).toEqual(['keys.registered', 'devices.changed', 'keys.rotated']);
    await expect.poll(() => seen.map((event) => event.id), { timeout: 15_000 }).toEqual(stored.map((event) => event.id));
  });
});

describe('PostgreSQL sessions', () => {
  it('commit durably even when the server or URL says synchronous_commit=off', async () => {
    const url = new URL(testPgUrl!);
    url.searchParams.set('options', '-c synchronous_commit=off');
    const driver = await createPgPoolDriver({ url: url.toString(), poolSize: 1 });
    try {
      const { rows } = await driver.withClient((client) => client.query('SHOW synchronous_commit'));
      expect(rows[0]).toEqual({ synchronous_commit: 'on' });
    } finally {
      await driver.close();
    }
  });
});
