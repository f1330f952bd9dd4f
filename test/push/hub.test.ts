/**
 * The hub in process, over a real embedded store and a fake socket: interleavings that a
 * spawned server cannot force (commits between replay pages, a socket that never drains).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import { masterPrincipal, type Principal } from '../../src/domain/principal.ts';
import { silentLogger } from '../../src/log.ts';
import type { PushSocket } from '../../src/push/connection.ts';
import { defaultPushSettings, PushHub, type PushSettings } from '../../src/push/hub.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store, StoreTx } from '../../src/store/types.ts';

/** Records frames; `bufferedAmount` is what was sent and not yet "written" by `flush()` (when holding). */
class FakeSocket implements PushSocket {
  readonly frames: any[] = [];
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  pings = 0;
  holding = false;
  private unflushed: Array<{ bytes: number; callback?: () => void }> = [];

  get bufferedAmount(): number {
    return this.unflushed.reduce((sum, entry) => sum + entry.bytes, 0);
  }

  send(data: string, callback?: () => void): void {
    this.frames.push(JSON.parse(data));
    if (this.holding) this.unflushed.push({ bytes: Buffer.byteLength(data), callback });
    else queueMicrotask(() => callback?.());
  }

  flush(): void {
    const entries = this.unflushed;
    this.unflushed = [];
    for (const entry of entries) entry.callback?.();
  }

  ping(): void {
    this.pings++;
  }

  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }

  terminate(): void {
    this.terminated = true;
  }

  events(): any[] {
    return this.frames.filter((frame) => frame.type === 'event');
  }
}

const apiKeyPrincipal = (userIds: string[]): Principal => ({
  kind: 'apiKey',
  projectId: 'default',
  actor: 'key_unit',
  acl: ['events.subscribe'],
  userIds,
});

let dir: string;
let store: Store;
let hub: PushHub | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prekeyd-hub-'));
  store = await openStore(join(dir, 'db'));
});

afterEach(async () => {
  await hub?.close();
  hub = undefined;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function startHub(settings: Partial<PushSettings> = {}, hubStore: Store = store) {
  hub = new PushHub({ store: hubStore, logger: silentLogger, settings: { ...defaultPushSettings, heartbeatMs: 0, ...settings } });
  hub.start();
  return hub;
}

async function appendEvents(userId: string, count: number, projectId = 'default'): Promise<void> {
  await store.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      await tx.events.append({ projectId, userId, event: 'prekeys.low', data: { remaining: i, threshold: 5 }, createdAt: new Date().toISOString() });
    }
  });
}

const storedIds = (userId: string) => store.transaction(async (tx) => (await tx.events.listAfter('default', [userId], '0', 100_000)).map((event) => event.id));

/** Runs until `check` holds (the hub works through promise chains). */
async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A store whose first `racingReads` reads are each surrounded by commits of new events for `userId`. */
function racingStore(userId: string, perRead: number, racingReads = 6): Store & { reads: number } {
  const racing = Object.create(store) as Store & { reads: number };
  racing.reads = 0;
  racing.transaction = async <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
    const racingThisRead = racing.reads++ < racingReads;
    if (racingThisRead) await appendEvents(userId, perRead); // committed (and published) before the read
    const result = await store.transaction(fn);
    if (racingThisRead) await appendEvents(userId, perRead); // committed after the read, before the page is sent
    return result;
  };
  return racing;
}

describe('replay then live', () => {
  it('sends every stored and concurrently committed event once, in order, across replay pages', async () => {
    await appendEvents('racer', 25);
    await appendEvents('bystander', 5);
    const racing = racingStore('racer', 2);
    startHub({ replayPageSize: 4 }, racing);
    const socket = new FakeSocket();
    const connection = hub!.attach(socket, masterPrincipal('default'), 'master');
    connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['racer'], since: '0' }));
    await eventually(() => racing.reads > 6);
    // Quiesce: the last page was short, the hub is live; one more commit after that arrives live.
    await eventually(() => socket.events().length >= 25);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await appendEvents('racer', 1);
    const expected = await storedIds('racer');
    await eventually(() => socket.events().length >= expected.length);
    const sent = socket.events().map((frame) => frame.id);
    expect(sent).toEqual(expected);
    expect(new Set(sent).size).toBe(sent.length);
    expect(socket.events().every((frame) => frame.userId === 'racer')).toBe(true);
    expect(socket.frames[0]).toEqual({ type: 'subscribed', userIds: ['racer'], cursor: '0' });
  });

  it('without since, starts at the latest id and sends only newer events, including those committed while subscribing', async () => {
    await appendEvents('fresh', 3);
    const before = await storedIds('fresh');
    const racing = racingStore('fresh', 1);
    startHub({}, racing);
    const socket = new FakeSocket();
    const connection = hub!.attach(socket, masterPrincipal('default'), 'master');
    connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['fresh'] }));
    await eventually(() => socket.frames.some((frame) => frame.type === 'subscribed'));
    const subscribed = socket.frames.find((frame) => frame.type === 'subscribed');
    await appendEvents('fresh', 2);
    const all = await storedIds('fresh');
    const newer = all.filter((id) => BigInt(id) > BigInt(subscribed.cursor));
    await eventually(() => socket.events().length >= newer.length);
    expect(socket.events().map((frame) => frame.id)).toEqual(newer);
    expect(BigInt(subscribed.cursor)).toBeGreaterThan(BigInt(before.at(-1)!));
    expect(newer.length).toBeGreaterThanOrEqual(3); // the racing commit after the read, and the two afterwards
  });

  it('stops delivering after unsubscribe and keeps users apart', async () => {
    startHub();
    const socket = new FakeSocket();
    const connection = hub!.attach(socket, masterPrincipal('default'), 'master');
    connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['one', 'two'] }));
    await eventually(() => socket.frames.length === 1);
    await appendEvents('one', 1);
    await appendEvents('three', 1);
    connection.receive(JSON.stringify({ type: 'unsubscribe', userIds: ['one'] }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await appendEvents('one', 1);
    await appendEvents('two', 1);
    await eventually(() => socket.events().length >= 2);
    expect(socket.events().map((frame) => frame.userId)).toEqual(['one', 'two']);
  });

  it('refuses users the key may not act as, and more users than the limit, without subscribing any', async () => {
    startHub({ maxSubscriptions: 2 });
    const socket = new FakeSocket();
    const connection = hub!.attach(socket, apiKeyPrincipal(['me', 'me_*']), 'token');
    connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['me', 'someone_else'] }));
    connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['me', 'me_2', 'me_3'] }));
    await eventually(() => socket.frames.length === 2);
    expect(socket.frames.map((frame) => frame.errorCode)).toEqual(['FORBIDDEN', 'VALIDATION_ERROR']);
    expect(connection.subscriptions.size).toBe(0);
    await appendEvents('me', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(socket.events()).toEqual([]);
  });
});

describe('backpressure', () => {
  it('closes with 1013 once the send buffer passes the cap; publishing never waits for the socket', async () => {
    startHub({ maxBufferBytes: 2048 });
    const stalled = new FakeSocket();
    const healthy = new FakeSocket();
    stalled.holding = true; // nothing it is sent is ever written out
    for (const socket of [stalled, healthy]) {
      const connection = hub!.attach(socket, masterPrincipal('default'), 'master');
      connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['busy'] }));
    }
    await eventually(() => stalled.frames.length === 1 && healthy.frames.length === 1);
    for (let i = 0; i < 40; i++) await appendEvents('busy', 1);
    expect(healthy.events()).toHaveLength(40);
    expect(stalled.closedWith?.code).toBe(1013);
    expect(stalled.bufferedAmount).toBeLessThanOrEqual(2048);
    expect(stalled.events().length).toBeLessThan(40);
  });

  it('paces a replay to the socket instead of overflowing it', async () => {
    await appendEvents('history', 60); // about 170 bytes each: far more than the 2 KiB cap
    startHub({ maxBufferBytes: 2048, replayPageSize: 16 });
    const socket = new FakeSocket();
    socket.holding = true;
    const connection = hub!.attach(socket, masterPrincipal('default'), 'master');
    connection.receive(JSON.stringify({ type: 'subscribe', userIds: ['history'], since: '0' }));
    await eventually(() => socket.events().length > 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const beforeDrain = socket.events().length;
    expect(beforeDrain).toBeLessThan(60); // waiting for the socket, not queueing
    while (socket.events().length < 60) {
      socket.flush();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(socket.closedWith).toBeUndefined();
    expect(socket.events().map((frame) => frame.id)).toEqual(await storedIds('history'));
  });
});

describe('heartbeat and key revalidation', () => {
  it('pings live peers and drops those that did not answer the previous ping', async () => {
    startHub({ heartbeatMs: 20 });
    const answering = new FakeSocket();
    const silent = new FakeSocket();
    const answeringConnection = hub!.attach(answering, masterPrincipal('default'), 'master');
    hub!.attach(silent, masterPrincipal('default'), 'master');
    const keepAlive = setInterval(() => (answeringConnection.alive = true), 5);
    await eventually(() => silent.terminated);
    clearInterval(keepAlive);
    expect(silent.pings).toBe(1);
    expect(answering.terminated).toBe(false);
    expect(answering.pings).toBeGreaterThanOrEqual(2);
  });

  it('closes connections of a key that was revoked with 1008', async () => {
    let valid = true;
    hub = new PushHub({
      store,
      logger: silentLogger,
      settings: { ...defaultPushSettings, heartbeatMs: 20 },
      revalidate: async () => {
        if (!valid) throw new AppError('UNAUTHORIZED', 'revoked');
        return apiKeyPrincipal(['*']);
      },
    });
    hub.start();
    const socket = new FakeSocket();
    const connection = hub.attach(socket, apiKeyPrincipal(['*']), 'token');
    setInterval(() => (connection.alive = true), 5).unref();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(socket.closedWith).toBeUndefined();
    valid = false;
    await eventually(() => socket.closedWith !== undefined);
    expect(socket.closedWith?.code).toBe(1008);
  });
});
