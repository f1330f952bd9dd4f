/** A `ws` client of GET /v1/events for tests: records every message with its arrival time. */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface PushMessage {
  type: string;
  [field: string]: any;
}

export interface Received {
  message: PushMessage;
  at: number;
}

export interface ConnectOptions {
  token?: string;
  /** Sent as `?access_token=` instead of the Authorization header. */
  queryToken?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** Extra `ws` client options (e.g. autoPong: false). */
  ws?: WebSocket.ClientOptions;
}

function eventsUrl(baseWsUrl: string, options: ConnectOptions): string {
  const url = new URL('/v1/events', baseWsUrl);
  if (options.queryToken) url.searchParams.set('access_token', options.queryToken);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  return url.toString();
}

function socketFor(baseWsUrl: string, options: ConnectOptions): WebSocket {
  const headers = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new WebSocket(eventsUrl(baseWsUrl, options), { headers, ...options.ws });
}

export class PushClient {
  readonly received: Received[] = [];
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  private waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.received.push({ message: JSON.parse(data.toString()) as PushMessage, at: performance.now() });
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString(), at: performance.now() });
        for (const wake of this.waiters) wake();
      }),
    );
    socket.on('error', () => undefined);
  }

  static connect(baseWsUrl: string, options: ConnectOptions = {}): Promise<PushClient> {
    const socket = socketFor(baseWsUrl, options);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new PushClient(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  /** Connects expecting the upgrade to be refused; resolves with the HTTP status and JSON body. */
  static refused(baseWsUrl: string, options: ConnectOptions = {}): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
    const socket = socketFor(baseWsUrl, options);
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        socket.close();
        reject(new Error('the upgrade was accepted'));
      });
      socket.once('unexpected-response', (_request, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
        });
      });
      socket.once('error', (error) => reject(error));
    });
  }

  get messages(): PushMessage[] {
    return this.received.map((entry) => entry.message);
  }

  /**
   * The events received (for `userId`), without `devices.changed`: these tests count the key
   * events of SPEC §4; device-list changes are covered by test/routes/v1-devices.test.ts and
   * test/sdk/devices.test.ts.
   */
  events(userId?: string): PushMessage[] {
    return this.messages.filter(
      (message) => message.type === 'event' && message.event !== 'devices.changed' && (userId === undefined || message.userId === userId),
    );
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first message at index >= `from` matching `predicate`. */
  async waitFor(predicate: (message: PushMessage) => boolean, { from = 0, timeoutMs = 5_000 } = {}): Promise<Received> {
    const found = () => this.received.slice(from).find((entry) => predicate(entry.message));
    return this.until(found, timeoutMs, () => `no matching message; got ${JSON.stringify(this.messages.slice(from)).slice(0, 500)}`);
  }

  /** Resolves once `count` event messages (optionally of one user) have arrived. */
  async waitForEvents(count: number, { userId, timeoutMs = 5_000 }: { userId?: string; timeoutMs?: number } = {}): Promise<PushMessage[]> {
    const enough = () => {
      const events = this.events(userId);
      return events.length >= count ? events : undefined;
    };
    return this.until(enough, timeoutMs, () => `expected ${count} events, got ${this.events(userId).length}`);
  }

  /** Subscribes and waits for the `subscribed` answer. */
  async subscribe(userIds: string[], since?: string): Promise<PushMessage> {
    const from = this.received.length;
    this.send({ type: 'subscribe', userIds, ...(since !== undefined && { since }) });
    return (await this.waitFor((message) => message.type === 'subscribed' || message.type === 'error', { from })).message;
  }

  /** Round trip through the server: every frame sent before it has been handled when this resolves. */
  async ping(timeoutMs = 5_000): Promise<void> {
    const from = this.received.length;
    this.send({ type: 'ping' });
    await this.waitFor((message) => message.type === 'pong', { from, timeoutMs });
  }

  close(): Promise<unknown> {
    this.socket.close();
    return this.closed;
  }

  private until<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(describe()));
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }
}

/** Opens `count` connections in batches (the listen backlog is finite). */
export async function connectMany(count: number, baseWsUrl: string, options: (index: number) => ConnectOptions, batch = 100): Promise<PushClient[]> {
  const clients: PushClient[] = [];
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    clients.push(...(await Promise.all(Array.from({ length: size }, (_, offset) => PushClient.connect(baseWsUrl, options(start + offset))))));
  }
  return clients;
}

/** A JSON call to a spawned server (master key unless `token` is given); `at` is when the answer was complete. */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  { token, headers = {} }: { token: string; headers?: Record<string, string> } = { token: '' },
): Promise<{ status: number; body: any; at: number }> {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const at = performance.now();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, at };
}
