/** Per-user subscription state of a connection, and the buffer that holds live events during a replay. */
import type { StoredEvent } from '../store/types.ts';
import { eventFrame } from './protocol.ts';

/** A committed event as the hub routes it: its frame is built once for every recipient. */
export interface PublishedEvent {
  event: StoredEvent;
  id: bigint;
  frame: string;
  bytes: number;
}

export function publishedEvent(event: StoredEvent): PublishedEvent {
  const frame = eventFrame(event);
  return { event, id: BigInt(event.id), frame, bytes: Buffer.byteLength(frame) };
}

export interface UserSubscription {
  /** Highest event id sent for this user: nothing at or below it is sent again. */
  lastSentId: bigint;
  /** Set while stored events are being replayed; live events wait in it meanwhile. */
  replay: ReplayBuffer | null;
}

/** Live events of one subscribe request's users, in commit order, held until its replay ends. */
export class ReplayBuffer {
  readonly events: PublishedEvent[] = [];
  bytes = 0;

  hold(published: PublishedEvent): void {
    this.events.push(published);
    this.bytes += published.bytes;
  }
}
