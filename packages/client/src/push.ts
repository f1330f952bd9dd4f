/**
 * The push channel `GET /v1/events` (SPEC §4) from the client side: one WebSocket per
 * subscription, reconnecting with exponential backoff and resuming with `since` from the last
 * event handled, so that a dropped connection loses no event and repeats none.
 *
 * Events are handed to the handler one at a time, in id order; the next waits for the
 * previous handler's promise. The resume point advances only after the handler returns, so an
 * event whose handler was interrupted by a disconnect is delivered again.
 */
import { PrekeydError } from './errors.ts';
import type { PrekeydEvent } from './types.ts';

/** The subset of the WHATWG WebSocket that the SDK uses (browsers, Deno, Node 22+, and the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocolsOrOptions?: string | string[] | { headers: Record<string, string> }) => WebSocketLike;

/**
 * What the `WebSocket` option accepts: any WebSocket class. Loose on purpose: the `ws` package's
 * overloaded constructor and its event types fit no precise signature that the browser's also
 * fits, and users should not need a cast; the SDK uses only the WebSocketLike subset.
 */
export type AnyWebSocketClass = new (url: string, ...rest: any[]) => object;

export interface ReconnectOptions {
  /** First retry delay (ms, default 250); doubles per failed attempt up to `maxDelayMs` (default 30 000), with jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
}

export interface SubscribeOptions {
  /** Replay every stored event after this id first (SPEC §4), then continue live. */
  since?: string;
  reconnect?: ReconnectOptions;
  /** Send `{"type":"ping"}` this often (ms, default 25 000); no answer within `heartbeatTimeoutMs` (default 10 000) → reconnect. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** Errors: server `error` frames, failed handlers, failed connections. The subscription carries on. */
  onError?: (error: PrekeydError) => void;
  /** Connection state changes. */
  onStatus?: (status: SubscriptionStatus) => void;
}

export type SubscriptionStatus = 'connecting' | 'subscribed' | 'reconnecting' | 'closed';

export type EventHandler = (event: PrekeydEvent) => void | Promise<void>;

export interface Subscription {
  /** Resolves when the server first confirms the subscription; rejects if the subscription ends before. */
  readonly ready: Promise<void>;
  /** The id of the last event handled (or the server's cursor before any): where a reconnect resumes. */
  readonly lastEventId: string | undefined;
  readonly status: SubscriptionStatus;
  /** Closes the connection for good (no reconnect). */
  close(): void;
}

export interface ChannelConfig {
  baseURL: string;
  apiKey: string;
  projectId: string | undefined;
  WebSocket: AnyWebSocketClass | undefined;
  /** `query` (default; works everywhere): `?access_token=`; `header`: `Authorization`, for `ws` and Deno. */
  auth: 'query' | 'header';
}

const open = 1;

function channelUrl(config: ChannelConfig): string {
  const url = new URL(`${config.baseURL}/v1/events`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (config.auth === 'query') {
    url.searchParams.set('access_token', config.apiKey);
    if (config.projectId !== undefined) url.searchParams.set('projectId', config.projectId);
  }
  return url.toString();
}

function frameText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    return new TextDecoder().decode(data instanceof ArrayBuffer ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return undefined;
}

const isLater = (id: string, than: string | undefined): boolean => than === undefined || BigInt(id) > BigInt(than);

export function openSubscription(config: ChannelConfig, userIds: string[], handler: EventHandler, options: SubscribeOptions = {}): Subscription {
  const Socket = (config.WebSocket as WebSocketConstructor | undefined) ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Socket) {
    throw new PrekeydError('WEBSOCKET_UNAVAILABLE', 'No global WebSocket here: pass one as the `WebSocket` client option (e.g. the `ws` package in Node 20)');
  }
  if (!Array.isArray(userIds) || userIds.length === 0) throw new PrekeydError('INVALID_ARGUMENT', 'subscribe needs at least one userId');

  const reconnect = { initialDelayMs: 250, maxDelayMs: 30_000, maxAttempts: Infinity, ...options.reconnect };
  const heartbeatMs = options.heartbeatMs ?? 25_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
  const report = (error: PrekeydError) => options.onError?.(error);

  let lastEventId = options.since;
  let status: SubscriptionStatus = 'connecting';
  let socket: WebSocketLike | undefined;
  let attempts = 0;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let lastFrameAt = 0;
  /** Handlers run one after another, in the order events arrive. */
  let queue: Promise<void> = Promise.resolve();
  /** Bumped per connection: callbacks of a replaced socket are ignored. */
  let generation = 0;

  let markReady!: () => void;
  let failReady!: (error: PrekeydError) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined); // a caller who never awaits `ready` gets no unhandled rejection

  const setStatus = (next: SubscriptionStatus) => {
    if (status === next) return;
    status = next;
    options.onStatus?.(next);
  };

  const stopHeartbeat = () => {
    if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
    heartbeatTimer = undefined;
  };

  function scheduleReconnect(): void {
    stopHeartbeat();
    if (closed) return;
    attempts += 1;
    if (attempts > reconnect.maxAttempts) {
      const error = new PrekeydError('NETWORK_ERROR', `Gave up on the push channel after ${reconnect.maxAttempts} attempts`);
      report(error);
      failReady(error);
      close();
      return;
    }
    setStatus('reconnecting');
    const base = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** (attempts - 1));
    // "Equal jitter": clients cut off together do not all come back at the same moment.
    retryTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
  }

  function handleEvent(event: PrekeydEvent): void {
    queue = queue.then(async () => {
      if (closed || !isLater(event.id, lastEventId)) return; // already handled before a reconnect
      try {
        await handler(event);
      } catch (cause) {
        report(cause instanceof PrekeydError ? cause : new PrekeydError('EVENT_HANDLER_FAILED', `The event handler failed on event ${event.id}`, { cause }));
      }
      lastEventId = event.id;
    });
  }

  function receive(text: string): void {
    let frame: { type?: unknown; [key: string]: unknown } | null;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = null;
    }
    if (typeof frame !== 'object' || frame === null) {
      report(new PrekeydError('INVALID_RESPONSE', 'The push channel sent a frame that is not a JSON object'));
      return;
    }
    if (frame.type === 'event' && typeof frame.id === 'string' && /^\d+$/.test(frame.id)) {
      handleEvent(frame as unknown as PrekeydEvent);
    } else if (frame.type === 'subscribed') {
      attempts = 0;
      // Before any event, the server's cursor is where a reconnect must resume: nothing after it is missed.
      const cursor = frame.cursor;
      queue = queue.then(() => {
        if (typeof cursor === 'string' && /^\d+$/.test(cursor) && lastEventId === undefined) lastEventId = cursor;
      });
      setStatus('subscribed');
      markReady();
    } else if (frame.type === 'error') {
      report(new PrekeydError((frame.errorCode as PrekeydError['errorCode']) ?? 'INVALID_RESPONSE', String(frame.error ?? 'push channel error')));
    }
  }

  function connect(): void {
    if (closed) return;
    const connection = ++generation;
    setStatus(attempts === 0 ? 'connecting' : 'reconnecting');
    let current: WebSocketLike;
    try {
      current =
        config.auth === 'header'
          ? new Socket!(channelUrl(config), {
              headers: { authorization: `Bearer ${config.apiKey}`, ...(config.projectId !== undefined && { 'x-project-id': config.projectId }) },
            })
          : new Socket!(channelUrl(config));
    } catch (cause) {
      report(new PrekeydError('NETWORK_ERROR', 'Could not open the push channel', { cause }));
      scheduleReconnect();
      return;
    }
    socket = current;
    current.onopen = () => {
      lastFrameAt = Date.now();
      // Resume from the last event handled: queued handlers finish first so the cursor is final.
      void queue.then(() => {
        if (connection !== generation || current.readyState !== open) return;
        current.send(JSON.stringify({ type: 'subscribe', userIds, ...(lastEventId !== undefined && { since: lastEventId }) }));
      });
      heartbeatTimer = setInterval(() => {
        if (Date.now() - lastFrameAt > heartbeatMs + heartbeatTimeoutMs) {
          current.close(4000, 'heartbeat timeout');
          return;
        }
        if (current.readyState === open) current.send('{"type":"ping"}');
      }, heartbeatMs);
    };
    current.onmessage = (message) => {
      lastFrameAt = Date.now();
      const text = frameText(message.data);
      if (text !== undefined) receive(text);
    };
    current.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    current.onclose = (event) => {
      if (connection !== generation) return;
      socket = undefined;
      if (closed) return;
      report(new PrekeydError('NETWORK_ERROR', `The push channel closed (code ${event.code}${event.reason ? `: ${event.reason}` : ''}); reconnecting`));
      scheduleReconnect();
    };
  }

  function close(): void {
    if (closed) return;
    closed = true;
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    stopHeartbeat();
    socket?.close(1000, 'closed by client');
    socket = undefined;
    failReady(new PrekeydError('NETWORK_ERROR', 'The subscription was closed before the server confirmed it'));
    setStatus('closed');
  }

  connect();
  return {
    ready,
    get lastEventId() {
      return lastEventId;
    },
    get status() {
      return status;
    },
    close,
  };
}
