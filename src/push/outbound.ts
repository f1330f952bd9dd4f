/**
 * The send side of one connection. Frames go to the socket at once and are never awaited, so
 * publishing costs the same whatever the client does; what the client has not taken yet (the
 * socket's buffer plus live events held during a replay) is capped, and past the cap the
 * connection is given up (`onOverflow`: close 1013, the client resumes with `since`).
 */

/** The part of a WebSocket the hub uses (`ws` in production, a fake in unit tests). */
export interface PushSocket {
  /** Bytes accepted by `send` but not yet handed to the operating system. */
  readonly bufferedAmount: number;
  send(data: string, callback?: (error?: Error) => void): void;
  ping(): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export interface OutboundOptions {
  maxBufferBytes: number;
  isClosing(): boolean;
  /** Resolves when the connection stops: a paced sender must not wait past it. */
  closed: Promise<void>;
  onOverflow(buffered: number): void;
}

export class Outbound {
  /** Live events held back while replays run: they count against the cap too. */
  private heldBytes = 0;
  private lastPacedWrite: Promise<void> | undefined;

  constructor(
    private readonly socket: PushSocket,
    private readonly options: OutboundOptions,
  ) {}

  private get backlog(): number {
    return this.socket.bufferedAmount + this.heldBytes;
  }

  send(frame: string, bytes = Buffer.byteLength(frame), onWritten?: () => void): void {
    if (this.options.isClosing()) return;
    if (this.backlog + bytes > this.options.maxBufferBytes) return this.options.onOverflow(this.backlog + bytes);
    this.socket.send(frame, onWritten && (() => onWritten()));
  }

  /** Counts an event held for later (during a replay) against the cap. */
  hold(bytes: number): void {
    this.heldBytes += bytes;
    if (this.backlog > this.options.maxBufferBytes) this.options.onOverflow(this.backlog);
  }

  release(bytes: number): void {
    this.heldBytes -= bytes;
  }

  /**
   * For replays, which read storage as fast as the client takes the frames: past half the cap
   * this waits for its previous frame to reach the socket instead of queueing more.
   */
  async sendPaced(frame: string): Promise<void> {
    if (this.lastPacedWrite && this.socket.bufferedAmount > this.options.maxBufferBytes / 2) {
      await Promise.race([this.lastPacedWrite, this.options.closed]);
    }
    this.lastPacedWrite = new Promise<void>((resolve) => this.send(frame, undefined, resolve));
  }
}
