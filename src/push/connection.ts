/**
 * One subscriber connection: the protocol, its subscriptions, and replay-then-live. Live events
 * are handed over synchronously by the hub and sent without waiting (outbound.ts); a client that
 * lets more than `maxBufferBytes` pile up is closed with 1013 and resumes with `since` (SPEC §4).
 */
import { AppError } from '../domain/errors.ts';
import { mayActAs, type Principal } from '../domain/principal.ts';
import { toAppError } from '../http/errors.ts';
import type { Logger } from '../log.ts';
import type { Store, StoredEvent } from '../store/types.ts';
import { Outbound, type PushSocket } from './outbound.ts';
import { closeCodes, errorFrame, eventFrame, parseClientMessage, pongFrame, type ClientMessage, type SubscribeMessage, subscribedFrame } from './protocol.ts';
import { ReplayBuffer, type PublishedEvent, type UserSubscription } from './subscription.ts';

export type { PushSocket } from './outbound.ts';

/** What a connection needs from its hub: storage and the user index that routes live events. */
export interface ConnectionHost {
  store: Store;
  logger: Logger;
  track(connection: PushConnection, userId: string): void;
  untrack(connection: PushConnection, userId: string): void;
  /** The connection is closing: stop routing events to it and free its key's slot. */
  detach(connection: PushConnection): void;
  /** Counts each event frame handed to a socket (metrics). */
  eventSent(): void;
}

export interface ConnectionSettings {
  maxSubscriptions: number;
  maxBufferBytes: number;
  /** Stored events read per replay query. */
  replayPageSize: number;
  /** How long a closing handshake may take before the socket is dropped. */
  closeGraceMs: number;
}

/** Subscribe/unsubscribe requests waiting behind a replay; more is a client that does not wait for answers. */
const maxQueuedRequests = 64;
/** setTimeout's longest delay; a later expiry is re-armed when it fires. */
const maxTimerMs = 2 ** 31 - 1;

export class PushConnection {
  readonly subscriptions = new Map<string, UserSubscription>();
  /** Cleared by each heartbeat, set again by any sign of life. */
  alive = true;
  private closing = false;
  private markClosed!: () => void;
  /** Resolves once the connection stops (closing handshake started, or the socket is gone). */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  private requests: Promise<void> = Promise.resolve();
  private queuedRequests = 0;
  private readonly outbound: Outbound;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Set while the key's rights are being re-checked after a change (revocation, narrowing): live
   * events wait here and replays pause, so nothing reaches a key that may have lost its right.
   */
  private held: PublishedEvent[] | null = null;
  private heldBytes = 0;
  private rightsSettled: Promise<void> = Promise.resolve();
  private settleRights: () => void = () => undefined;
  /** Bumped by each hold: a re-check started before the latest change cannot release it. */
  private rightsGeneration = 0;

  constructor(
    private readonly socket: PushSocket,
    /** Replaced when a re-check finds the key changed but still allowed (e.g. narrower userIds). */
    public principal: Principal,
    private readonly host: ConnectionHost,
    private readonly settings: ConnectionSettings,
  ) {
    this.outbound = new Outbound(socket, {
      maxBufferBytes: settings.maxBufferBytes,
      isClosing: () => this.closing,
      closed: this.closed,
      onOverflow: (buffered) => this.fallBehind(buffered),
    });
    if (principal.expiresAt) this.armExpiry(Date.parse(principal.expiresAt));
  }

  /** Holds delivery until `confirmRights` or a close; returns the generation to confirm. */
  holdForRecheck(): number {
    if (this.held === null && !this.closing) {
      this.held = [];
      this.rightsSettled = new Promise((resolve) => (this.settleRights = resolve));
    }
    return ++this.rightsGeneration;
  }

  get rightsCheckGeneration(): number {
    return this.rightsGeneration;
  }

  /** The key still allows every subscription: adopt its current rights and release held events. */
  confirmRights(principal: Principal, generation: number): void {
    if (this.closing) return;
    this.principal = principal;
    if (this.held === null || generation !== this.rightsGeneration) return;
    const held = this.held;
    this.held = null;
    this.outbound.release(this.heldBytes);
    this.heldBytes = 0;
    this.settleRights();
    for (const published of held) this.deliver(published);
  }

  /** A held connection whose key could not be re-checked (storage down): the client resumes with `since`. */
  recheckFailed(): void {
    if (this.held !== null) this.close(closeCodes.tryAgainLater, 'Could not re-check the API key; reconnect with since');
  }

  private armExpiry(at: number): void {
    const delay = at - Date.now();
    if (!Number.isFinite(delay)) return;
    this.expiryTimer = setTimeout(
      () => {
        if (Date.now() >= at) this.close(closeCodes.policyViolation, 'The API key expired');
        else this.armExpiry(at);
      },
      Math.min(Math.max(delay, 0), maxTimerMs),
    );
    this.expiryTimer.unref?.();
  }

  get projectId(): string {
    return this.principal.projectId;
  }

  /** A frame from the client: `text` is null for a binary frame. */
  receive(text: string | null): void {
    this.alive = true;
    if (this.closing) return;
    if (text === null) return this.close(closeCodes.unsupportedData, 'Binary frames are not supported; send JSON text');
    let message: ClientMessage;
    try {
      message = parseClientMessage(text);
    } catch (error) {
      return this.sendError(toAppError(error));
    }
    if (message.type === 'ping') return this.outbound.send(pongFrame);
    if (this.queuedRequests >= maxQueuedRequests) {
      return this.sendError(new AppError('RATE_LIMITED', 'Too many subscribe/unsubscribe requests in flight; wait for the answers'));
    }
    this.queuedRequests++;
    // One request at a time: a replay finishes before the next subscription changes.
    this.requests = this.requests
      .then(() => (message.type === 'subscribe' ? this.subscribe(message) : this.unsubscribe(message.userIds)))
      .catch((error: unknown) => this.sendError(toAppError(error, this.host.logger)))
      .finally(() => this.queuedRequests--);
  }

  /** A committed event for one of this connection's users (called synchronously by the hub). */
  deliver(published: PublishedEvent): void {
    if (this.closing) return;
    const subscription = this.subscriptions.get(published.event.userId);
    if (!subscription) return;
    if (this.held !== null) {
      this.held.push(published);
      this.heldBytes += published.bytes;
      this.outbound.hold(published.bytes);
      return;
    }
    if (subscription.replay) {
      subscription.replay.hold(published);
      this.outbound.hold(published.bytes);
      return;
    }
    if (published.id <= subscription.lastSentId) return;
    subscription.lastSentId = published.id;
    this.outbound.send(published.frame, published.bytes);
    this.host.eventSent();
  }

  /** One heartbeat: false when the peer did not answer the previous ping (the caller drops it). */
  heartbeat(): boolean {
    if (this.closing) return true;
    if (!this.alive) return false;
    this.alive = false;
    this.socket.ping();
    return true;
  }

  /** Server-initiated close; the socket is dropped if the client does not complete the handshake in time. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.stop();
    this.socket.close(code, reason);
    this.closeTimer = setTimeout(() => this.socket.terminate(), this.settings.closeGraceMs);
    this.closeTimer.unref?.();
  }

  terminate(): void {
    this.stop();
    this.socket.terminate();
  }

  /** The socket is gone (either side closed it). */
  socketClosed(): void {
    clearTimeout(this.closeTimer);
    this.stop();
  }

  private stop(): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.expiryTimer);
    this.held = null;
    this.settleRights();
    this.host.detach(this);
    this.markClosed();
  }

  private fallBehind(buffered: number): void {
    this.host.logger.info('push client fell behind; closing with 1013', { actor: this.principal.actor, buffered });
    this.close(closeCodes.tryAgainLater, 'Client fell behind; reconnect with since');
  }

  private sendError(error: AppError): void {
    this.outbound.send(errorFrame(error.code, error.message));
  }

  private async subscribe(message: SubscribeMessage): Promise<void> {
    if (this.closing) return; // queued behind a replay when the connection closed: never re-enter the index
    const userIds = [...new Set(message.userIds)];
    const denied = userIds.find((userId) => !mayActAs(this.principal, userId));
    if (denied !== undefined) throw new AppError('FORBIDDEN', `This key may not act as user ${denied}`);
    const total = new Set([...this.subscriptions.keys(), ...userIds]).size;
    if (total > this.settings.maxSubscriptions) {
      throw new AppError('VALIDATION_ERROR', `At most ${this.settings.maxSubscriptions} users per connection (this would make ${total})`);
    }
    // Registered before anything is read: from here on, every committed event of these users is
    // either in the replay (stored) or held in `replay` (live), so none can fall between the two.
    const replay = new ReplayBuffer();
    for (const userId of userIds) {
      this.subscriptions.set(userId, { lastSentId: 0n, replay });
      this.host.track(this, userId);
    }
    try {
      // A `since` past the latest stored event (a cursor from before a restore, or from elsewhere)
      // resumes at the latest: kept as is, every live event up to it would be skipped as already sent.
      const latest = BigInt(await this.latestId());
      const cursor = message.since !== undefined && BigInt(message.since) < latest ? BigInt(message.since) : latest;
      for (const userId of userIds) this.ownSubscription(userId, replay)!.lastSentId = cursor;
      this.outbound.send(subscribedFrame(userIds, cursor.toString()));
      if (message.since !== undefined) await this.replayStored(userIds, cursor, replay);
      await this.rightsSettled;
      if (this.closing) return;
      this.goLive(replay);
    } catch (error) {
      for (const userId of userIds) if (this.ownSubscription(userId, replay)) this.drop(userId);
      this.outbound.release(replay.bytes);
      throw error;
    }
  }

  private ownSubscription(userId: string, replay: ReplayBuffer): UserSubscription | undefined {
    const subscription = this.subscriptions.get(userId);
    return subscription?.replay === replay ? subscription : undefined;
  }

  private latestId(): Promise<string> {
    return this.host.store.transaction((tx) => tx.events.latestId(this.projectId));
  }

  /** Every stored event after `cursor` for the users, oldest first, page by page. */
  private async replayStored(userIds: string[], cursor: bigint, replay: ReplayBuffer): Promise<void> {
    let after = cursor;
    const pageSize = this.settings.replayPageSize;
    for (;;) {
      const page: StoredEvent[] = await this.host.store.transaction((tx) => tx.events.listAfter(this.projectId, userIds, after.toString(), pageSize));
      for (const event of page) {
        if (this.closing) return;
        const id = BigInt(event.id);
        after = id;
        const subscription = this.ownSubscription(event.userId, replay);
        if (!subscription || id <= subscription.lastSentId) continue;
        await this.rightsSettled; // a stored event is no more allowed than a live one while the key is re-checked
        if (this.closing) return;
        subscription.lastSentId = id;
        await this.outbound.sendPaced(eventFrame(event));
        this.host.eventSent();
      }
      if (page.length < pageSize || this.closing) return;
    }
  }

  /** Sends what arrived during the replay (each event once: ids already sent are skipped), then routes live. */
  private goLive(replay: ReplayBuffer): void {
    this.outbound.release(replay.bytes);
    for (const published of replay.events) {
      const subscription = this.ownSubscription(published.event.userId, replay);
      if (!subscription || published.id <= subscription.lastSentId) continue;
      subscription.lastSentId = published.id;
      this.outbound.send(published.frame, published.bytes);
      this.host.eventSent();
    }
    for (const subscription of this.subscriptions.values()) if (subscription.replay === replay) subscription.replay = null;
  }

  private async unsubscribe(userIds: string[]): Promise<void> {
    for (const userId of userIds) if (this.subscriptions.has(userId)) this.drop(userId);
  }

  private drop(userId: string): void {
    this.subscriptions.delete(userId);
    this.host.untrack(this, userId);
  }
}
