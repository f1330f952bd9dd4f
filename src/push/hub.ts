/**
 * The push hub: the registry of WebSocket connections of `GET /v1/events`, fed by the store's
 * committed events. Publishing is synchronous and never waits on a socket: each connection
 * sends or gives up on its own frames (outbound.ts), so one slow client slows no one else.
 *
 * @example
 * const hub = new PushHub({ store, logger, settings: defaultPushSettings });
 * hub.start();
 * // after authenticating the upgrade request (routes/events/upgrade.ts):
 * if (hub.hasRoomFor(principal)) hub.upgrade(request, socket, head, principal, token);
 * await hub.close(); // 1001 to everyone, on shutdown
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { Principal } from '../domain/principal.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Store, StoredEvent } from '../store/types.ts';
import { type ConnectionHost, type ConnectionSettings, PushConnection, type PushSocket } from './connection.ts';
import { closeCodes } from './protocol.ts';
import { type Revalidate, revalidateKeys } from './revalidation.ts';
import { publishedEvent } from './subscription.ts';

export interface PushSettings extends ConnectionSettings {
  /** Open connections per API key; 0 = unlimited. The master key is not limited. */
  maxConnectionsPerKey: number;
  /** Ping interval; a peer that has not answered the previous ping is dropped. 0 = off. */
  heartbeatMs: number;
  /** Largest client frame; larger ones close the connection with 1009. */
  maxFrameBytes: number;
  /** On shutdown, how long clients get to complete the 1001 closing handshake. */
  shutdownGraceMs: number;
}

export const defaultPushSettings: PushSettings = {
  maxSubscriptions: 100,
  maxConnectionsPerKey: 1000,
  heartbeatMs: 30_000,
  maxBufferBytes: 1024 * 1024,
  maxFrameBytes: 64 * 1024,
  replayPageSize: 500,
  closeGraceMs: 10_000,
  shutdownGraceMs: 2_000,
};

export interface PushHubDeps {
  store: Store;
  logger: Logger;
  settings: PushSettings;
  /** Re-checks an API key when it changes and on each heartbeat, so a revoked or narrowed key stops receiving events. */
  revalidate?: Revalidate;
  metrics?: Pick<Metrics, 'pushConnections' | 'pushEventsSent'>;
}

const userKey = (projectId: string, userId: string): string => `${projectId}\u0000${userId}`;
const keyOf = (principal: Principal): string => `${principal.projectId}\u0000${principal.actor}`;

function frameText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export class PushHub implements ConnectionHost {
  readonly store: Store;
  readonly logger: Logger;
  private readonly settings: PushSettings;
  private readonly server: WebSocketServer;
  private readonly connections = new Map<PushConnection, { token: string }>();
  private readonly byUser = new Map<string, Set<PushConnection>>();
  private readonly perKey = new Map<string, number>();
  private readonly openSockets = new Set<WebSocket>();
  private onSocketsGone: (() => void) | undefined;
  private stopListening: (() => void) | undefined;
  private stopKeyListening: (() => void) | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private revalidating = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: PushHubDeps) {
    this.store = deps.store;
    this.logger = deps.logger;
    this.settings = deps.settings;
    this.server = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: this.settings.maxFrameBytes });
  }

  /** Starts routing committed events and the heartbeat. */
  start(): void {
    this.stopListening = this.store.onEvents((events) => this.publish(events));
    this.stopKeyListening = this.store.onApiKeyChanges((uids) => this.keysChanged(uids));
    if (this.settings.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => this.beat(), this.settings.heartbeatMs);
      this.heartbeatTimer.unref?.();
    }
  }

  get accepting(): boolean {
    return this.closing === undefined;
  }

  stats(): { connections: number; subscriptions: number } {
    let subscriptions = 0;
    for (const connection of this.connections.keys()) subscriptions += connection.subscriptions.size;
    return { connections: this.connections.size, subscriptions };
  }

  /** Whether the principal's key may open one more connection. */
  hasRoomFor(principal: Principal): boolean {
    const max = this.settings.maxConnectionsPerKey;
    return principal.kind === 'master' || max === 0 || (this.perKey.get(keyOf(principal)) ?? 0) < max;
  }

  /**
   * Completes the handshake of an authenticated upgrade request. Synchronous up to the
   * connection count, so `hasRoomFor` checked just before cannot be raced past.
   */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal, token: string): void {
    this.server.handleUpgrade(request, socket, head, (ws) => this.accept(ws, principal, token));
  }

  /** Sets how a handshake that `ws` refuses (bad headers) is answered. */
  onHandshakeError(handler: (error: Error, socket: Duplex) => void): void {
    this.server.on('wsClientError', handler);
  }

  /** Committed events, in commit order (the store's listener): must never throw or wait. */
  publish(events: StoredEvent[]): void {
    for (const event of events) {
      const recipients = this.byUser.get(userKey(event.projectId, event.userId));
      if (!recipients) continue;
      const published = publishedEvent(event);
      for (const connection of recipients) {
        try {
          connection.deliver(published);
        } catch (error) {
          this.logger.error('push delivery failed', { error: String(error) });
        }
      }
    }
  }

  track(connection: PushConnection, userId: string): void {
    const key = userKey(connection.projectId, userId);
    let set = this.byUser.get(key);
    if (!set) this.byUser.set(key, (set = new Set()));
    set.add(connection);
  }

  untrack(connection: PushConnection, userId: string): void {
    const key = userKey(connection.projectId, userId);
    const set = this.byUser.get(key);
    if (set?.delete(connection) && set.size === 0) this.byUser.delete(key);
  }

  eventSent(): void {
    this.deps.metrics?.pushEventsSent.inc();
  }

  detach(connection: PushConnection): void {
    if (!this.connections.delete(connection)) return;
    this.deps.metrics?.pushConnections.dec();
    for (const userId of connection.subscriptions.keys()) this.untrack(connection, userId);
    if (connection.principal.kind === 'apiKey') {
      const key = keyOf(connection.principal);
      const count = (this.perKey.get(key) ?? 1) - 1;
      if (count > 0) this.perKey.set(key, count);
      else this.perKey.delete(key);
    }
  }

  /** Closes every connection with 1001 and waits (up to the close grace) for the sockets to go. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopListening?.();
      this.stopKeyListening?.();
      clearInterval(this.heartbeatTimer);
      for (const connection of [...this.connections.keys()]) connection.close(closeCodes.goingAway, 'Server shutting down');
      if (this.openSockets.size > 0) {
        const gone = new Promise<void>((resolve) => (this.onSocketsGone = resolve));
        const timer = setTimeout(() => this.onSocketsGone?.(), this.settings.shutdownGraceMs);
        await gone;
        clearTimeout(timer);
        for (const socket of this.openSockets) socket.terminate();
      }
      this.server.close();
    })();
    return this.closing;
  }

  /** Registers a connection over an open socket (the `ws` wiring is in `accept`). */
  attach(socket: PushSocket, principal: Principal, token: string): PushConnection {
    const connection = new PushConnection(socket, principal, this, this.settings);
    this.connections.set(connection, { token });
    this.deps.metrics?.pushConnections.inc();
    if (principal.kind === 'apiKey') this.perKey.set(keyOf(principal), (this.perKey.get(keyOf(principal)) ?? 0) + 1);
    return connection;
  }

  private accept(ws: WebSocket, principal: Principal, token: string): void {
    if (this.closing) {
      ws.close(closeCodes.goingAway, 'Server shutting down');
      return;
    }
    const connection = this.attach(ws, principal, token);
    this.openSockets.add(ws);
    ws.on('message', (data, isBinary) => {
      try {
        connection.receive(isBinary ? null : frameText(data));
      } catch (error) {
        this.logger.error('push message handling failed', { error: String(error) });
      }
    });
    ws.on('pong', () => (connection.alive = true));
    // Oversized or malformed frames: `ws` closes the connection itself (1009, 1002, 1007).
    ws.on('error', (error) => this.logger.debug('push socket error', { error: error.message }));
    ws.on('close', () => {
      connection.socketClosed();
      this.openSockets.delete(ws);
      if (this.openSockets.size === 0) this.onSocketsGone?.();
    });
  }

  /**
   * API keys changed (null: maybe any). Called synchronously once the change is durable, before
   * the HTTP answer: the keys' connections hold their events at once, then are re-checked.
   */
  keysChanged(uids: readonly string[] | null): void {
    const { revalidate } = this.deps;
    if (!revalidate) return;
    const changed = uids === null ? undefined : new Set(uids);
    const affected: Array<{ connection: PushConnection; token: string }> = [];
    for (const [connection, { token }] of this.connections) {
      if (connection.principal.kind !== 'apiKey' || (changed && !changed.has(connection.principal.actor))) continue;
      connection.holdForRecheck();
      affected.push({ connection, token });
    }
    if (affected.length === 0) return;
    revalidateKeys(affected, revalidate).catch((error: unknown) => this.logger.warn('push key re-check failed', { error: String(error) }));
  }

  private beat(): void {
    for (const connection of [...this.connections.keys()]) {
      try {
        if (!connection.heartbeat()) connection.terminate();
      } catch (error) {
        this.logger.debug('push heartbeat failed', { error: String(error) });
      }
    }
    if (this.deps.revalidate && !this.revalidating) {
      this.revalidating = true;
      const entries = [...this.connections].map(([connection, { token }]) => ({ connection, token }));
      revalidateKeys(entries, this.deps.revalidate)
        .catch((error: unknown) => this.logger.warn('push key revalidation failed', { error: String(error) }))
        .finally(() => (this.revalidating = false));
    }
  }
}
