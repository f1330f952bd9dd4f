/** The push client's reconnect, resume and heartbeat logic, against a scripted fake WebSocket. */
import { afterEach, describe, expect, it } from 'vitest';
import { PrekeydClient, type PrekeydError, type PrekeydEvent, type WebSocketConstructor, type WebSocketLike } from '../../packages/client/src/index.ts';

class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(
    readonly url: string,
    readonly options?: unknown,
  ) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
  // Server side of the script:
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(frame: unknown) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await tick(5);
  }
}
const event = (id: string, remaining = 1) => ({
  type: 'event',
  id,
  event: 'prekeys.replenished',
  userId: 'u',
  data: { added: 1, remaining },
  createdAt: new Date().toISOString(),
});

const client = (extra: { projectId?: string; webSocketAuth?: 'query' | 'header' } = {}) =>
  new PrekeydClient({ baseURL: 'https://keys.example.com/', apiKey: 'secret-key', WebSocket: FakeSocket as unknown as WebSocketConstructor, ...extra });

afterEach(() => {
  FakeSocket.instances = [];
});

describe('subscribe', () => {
  it('authenticates by query (browsers) or header, on wss for https', () => {
    client({ projectId: 'proj_1' })
      .subscribe(['u'], () => undefined)
      .close();
    const query = new URL(FakeSocket.instances[0]!.url);
    expect(query.protocol).toBe('wss:');
    expect(query.pathname).toBe('/v1/events');
    expect(query.searchParams.get('access_token')).toBe('secret-key');
    expect(query.searchParams.get('projectId')).toBe('proj_1');

    client({ projectId: 'proj_1', webSocketAuth: 'header' })
      .subscribe(['u'], () => undefined)
      .close();
    const header = FakeSocket.instances[1]!;
    expect(new URL(header.url).search).toBe('');
    expect(header.options).toEqual({ headers: { authorization: 'Bearer secret-key', 'x-project-id': 'proj_1' } });
  });

  it('drops replayed duplicates, keeps going after a failing handler, and resumes from the last handled id', async () => {
    const seen: string[] = [];
    const errors: PrekeydError[] = [];
    const subscription = client().subscribe(
      ['u'],
      (received: PrekeydEvent) => {
        seen.push(received.id);
        if (received.id === '8') throw new Error('app bug');
      },
      { since: '5', reconnect: { initialDelayMs: 10 }, onError: (error) => errors.push(error) },
    );
    const first = FakeSocket.instances[0]!;
    first.open();
    await until(() => first.sent.length === 1);
    expect(first.sent[0]).toEqual({ type: 'subscribe', userIds: ['u'], since: '5' });
    first.push({ type: 'subscribed', userIds: ['u'], cursor: '5' });
    await subscription.ready;
    for (const id of ['4', '6', '7', '8']) first.push(event(id));
    first.push('not json');
    await until(() => seen.length === 3);
    expect(seen).toEqual(['6', '7', '8']);
    expect(errors.map((error) => error.errorCode).sort()).toEqual(['EVENT_HANDLER_FAILED', 'INVALID_RESPONSE']);

    first.drop();
    await until(() => FakeSocket.instances.length === 2);
    const second = FakeSocket.instances[1]!;
    second.open();
    await until(() => second.sent.length === 1);
    expect(second.sent[0]).toEqual({ type: 'subscribe', userIds: ['u'], since: '8' });
    second.push({ type: 'subscribed', userIds: ['u'], cursor: '8' });
    for (const id of ['7', '8', '9']) second.push(event(id));
    await until(() => seen.length === 4);
    expect(seen).toEqual(['6', '7', '8', '9']);
    expect(subscription.lastEventId).toBe('9');
    subscription.close();
  });

  it("without since, a reconnect resumes from the server's cursor; server error frames reach onError", async () => {
    const errors: PrekeydError[] = [];
    const subscription = client().subscribe(['u'], () => undefined, { reconnect: { initialDelayMs: 10 }, onError: (error) => errors.push(error) });
    const first = FakeSocket.instances[0]!;
    first.open();
    await until(() => first.sent.length === 1);
    expect(first.sent[0]).toEqual({ type: 'subscribe', userIds: ['u'] });
    first.push({ type: 'subscribed', userIds: ['u'], cursor: '41' });
    first.push({ type: 'error', errorCode: 'FORBIDDEN', error: 'may not act as v' });
    await until(() => subscription.lastEventId === '41');
    first.drop();
    await until(() => FakeSocket.instances.length === 2);
    FakeSocket.instances[1]!.open();
    await until(() => FakeSocket.instances[1]!.sent.length === 1);
    expect(FakeSocket.instances[1]!.sent[0]).toEqual({ type: 'subscribe', userIds: ['u'], since: '41' });
    expect(errors[0]).toMatchObject({ errorCode: 'FORBIDDEN', message: 'may not act as v' });
    subscription.close();
  });

  it('pings, and reconnects when the server stops answering', async () => {
    const subscription = client().subscribe(['u'], () => undefined, { heartbeatMs: 30, heartbeatTimeoutMs: 30, reconnect: { initialDelayMs: 10 } });
    const first = FakeSocket.instances[0]!;
    first.open();
    await until(() => first.sent.some((frame) => frame.type === 'ping'));
    // Silence from the server: the client closes and opens a new connection.
    await until(() => FakeSocket.instances.length === 2);
    expect(first.readyState).toBe(3);
    subscription.close();
  });

  it('backs off, and gives up after maxAttempts, rejecting ready', async () => {
    const statuses: string[] = [];
    const subscription = client().subscribe(['u'], () => undefined, {
      reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3 },
      onStatus: (status) => statuses.push(status),
    });
    const started = Date.now();
    const failure = subscription.ready.then(
      () => 'resolved',
      (error: PrekeydError) => error.errorCode,
    );
    for (let i = 0; i < 4; i++) {
      await until(() => FakeSocket.instances.length === i + 1);
      FakeSocket.instances[i]!.drop();
    }
    expect(await failure).toBe('NETWORK_ERROR');
    expect(subscription.status).toBe('closed');
    expect(FakeSocket.instances).toHaveLength(4);
    // Delays of at least 10 + 20 + 20 ms (half of 20, 40, 40 after jitter) were waited.
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(statuses.at(-1)).toBe('closed');
  });
});
