/**
 * Wire-level helpers for fuzzing the push channel (GET /v1/events): the SPEC §4 check of a
 * server message, a `ws` client that records every frame as received, raw WebSocket frames
 * (client frames encoded by hand, server frames decoded) and raw TCP exchanges for handshakes
 * and frames that `ws` itself would refuse to send.
 *
 * @example
 * const client = await RecordingSocket.open(`${server.wsUrl}/v1/events`, { authorization: `Bearer ${token}` });
 * client.send('{"type":"ping"}');
 * await client.waitUntil(() => client.texts.length > 0, 'a pong');
 * expect(serverMessageProblem(client.texts[0]!)).toBeUndefined();
 */
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';

/** SPEC §6. */
export const errorCodes = [
  'VALIDATION_ERROR',
  'INVALID_SIGNATURE',
  'CHECKSUM_MISMATCH',
  'IMMUTABLE_FIELD',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'KEYS_SUSPENDED',
  'NOT_FOUND',
  'CONFLICT',
  'KEYS_REVOKED',
  'KEYS_EXPIRED',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'UNAVAILABLE',
] as const;
/** The codes of a server-side failure: a 5xx over HTTP, never acceptable as the answer to a frame. */
const serverFailureCodes = new Set(['INTERNAL_ERROR', 'UNAVAILABLE']);
/** SPEC §4, and `devices.changed` (multi-device /v1). */
export const eventNames = [
  'prekeys.low',
  'prekeys.exhausted',
  'keys.registered',
  'keys.rotated',
  'prekeys.replenished',
  'keys.revoked',
  'session.initiated',
  'peer.keys.revoked',
  'devices.changed',
];

export type ServerMessage = { type: string } & Record<string, unknown>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isDecimal = (value: unknown): value is string => typeof value === 'string' && /^\d+$/.test(value);
const hasOnlyKeys = (value: Record<string, unknown>, keys: string[]) => Object.keys(value).every((key) => keys.includes(key));

/** Why `text` is not one of the server messages of SPEC §4, or undefined when it is one. */
export function serverMessageProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isRecord(value)) return 'not a JSON object';
  switch (value.type) {
    case 'subscribed':
      if (!Array.isArray(value.userIds) || !value.userIds.every((id) => typeof id === 'string')) return 'subscribed.userIds is not an array of strings';
      if (!isDecimal(value.cursor)) return 'subscribed.cursor is not a decimal string';
      return hasOnlyKeys(value, ['type', 'userIds', 'cursor']) ? undefined : 'subscribed has unknown fields';
    case 'event':
      if (!isDecimal(value.id)) return 'event.id is not a decimal string';
      if (!eventNames.includes(value.event as string)) return `unknown event name ${String(value.event)}`;
      if (typeof value.userId !== 'string' || !isRecord(value.data)) return 'event.userId/data missing';
      if (typeof value.createdAt !== 'string' || Number.isNaN(Date.parse(value.createdAt))) return 'event.createdAt is not a date';
      return undefined;
    case 'pong':
      return hasOnlyKeys(value, ['type']) ? undefined : 'pong has unknown fields';
    case 'error':
      if (!(errorCodes as readonly unknown[]).includes(value.errorCode)) return `unknown errorCode ${String(value.errorCode)}`;
      if (serverFailureCodes.has(value.errorCode as string)) return `server failure ${String(value.errorCode)}: ${String(value.error)}`;
      if (typeof value.error !== 'string' || value.error.length === 0) return 'error.error is not a message';
      return hasOnlyKeys(value, ['type', 'errorCode', 'error']) ? undefined : 'error has unknown fields';
    default:
      return `unknown message type ${JSON.stringify(value.type)}`;
  }
}

/** A `ws` client that keeps every text message, control pong and the close, in arrival order. */
/** WebSocket frames the fuzzers sent (fragments and raw frames each count), for the run's report. */
export const framesSent = { count: 0 };

export class RecordingSocket {
  readonly texts: string[] = [];
  readonly pongs: Buffer[] = [];
  binaryMessages = 0;
  closeInfo: { code: number; reason: string } | undefined;
  private readonly wakers = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) this.binaryMessages++;
      else this.texts.push(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
      this.wake();
    });
    socket.on('pong', (data) => {
      this.pongs.push(data);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.wake();
    });
    socket.on('error', () => undefined); // the close event reports what matters
  }

  static open(url: string, headers: Record<string, string>): Promise<RecordingSocket> {
    const socket = new WebSocket(url, { headers, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RecordingSocket(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  get open(): boolean {
    return this.closeInfo === undefined && this.socket.readyState === WebSocket.OPEN;
  }

  messages(from = 0): ServerMessage[] {
    return this.texts.slice(from).map((text) => JSON.parse(text) as ServerMessage);
  }

  /** One message (a text frame unless `binary`), split into fragments at the byte offsets in `cuts`. */
  send(data: string | Buffer, options: { binary?: boolean; cuts?: number[] } = {}): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const cuts = [...new Set(options.cuts ?? [])].filter((cut) => cut > 0 && cut < bytes.length).sort((a, b) => a - b);
    const bounds = [0, ...cuts, bytes.length];
    for (let index = 0; index + 1 < bounds.length; index++) {
      const fin = index + 2 === bounds.length;
      this.socket.send(bytes.subarray(bounds[index], bounds[index + 1]), { binary: options.binary ?? false, fin });
      framesSent.count++;
    }
  }

  /** Resolves once `check` holds; rejects on timeout, or when the socket closes first (unless `check` then holds). */
  waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.wakers.delete(waker);
        clearTimeout(timer);
        reject(new Error(`${why} waiting for ${what}; received ${JSON.stringify(this.texts.slice(-5)).slice(0, 600)}`));
      };
      const waker = () => {
        if (check()) {
          this.wakers.delete(waker);
          clearTimeout(timer);
          resolve();
        } else if (this.closeInfo) {
          fail(`closed (${this.closeInfo.code} ${this.closeInfo.reason})`);
        }
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      this.wakers.add(waker);
    });
  }

  waitClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return new Promise((resolve, reject) => {
      const waker = () => {
        if (!this.closeInfo) return;
        this.wakers.delete(waker);
        clearTimeout(timer);
        resolve(this.closeInfo);
      };
      const timer = setTimeout(() => {
        this.wakers.delete(waker);
        reject(new Error(`the server did not close the connection within ${timeoutMs} ms`));
      }, timeoutMs);
      this.wakers.add(waker);
      waker();
    });
  }

  close(): Promise<unknown> {
    if (this.closeInfo) return Promise.resolve();
    this.socket.close();
    return this.waitClosed().catch(() => this.socket.terminate());
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

export interface ClientFrame {
  fin: boolean;
  /** RSV1-3 as a 3-bit number; anything but 0 is a protocol error without extensions. */
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
  /** How the length is written: the shortest form, or forced 16-/64-bit (legal but unusual). */
  lengthForm: 'shortest' | '16' | '64';
  /** A length that differs from the payload's (a lie: the server waits for bytes or reads the next frame as payload). */
  declaredLength?: number;
}

/** RFC 6455 §5.2 framing of a client frame, exactly as described (however invalid). */
export function encodeClientFrame(frame: ClientFrame): Buffer {
  framesSent.count++;
  const length = frame.declaredLength ?? frame.payload.length;
  const head: number[] = [(frame.fin ? 0x80 : 0) | ((frame.rsv & 7) << 4) | (frame.opcode & 0x0f)];
  const maskBit = frame.masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (frame.lengthForm === '64' || length > 0xffff) {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  } else if (frame.lengthForm === '16' || length > 125) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    head.push(maskBit | length);
  }
  const payload = Buffer.from(frame.payload);
  const parts = [Buffer.from(head), extended];
  if (frame.masked) {
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(4)));
    for (let index = 0; index < payload.length; index++) payload[index]! ^= key[index % 4]!;
    parts.push(key);
  }
  parts.push(payload);
  return Buffer.concat(parts);
}

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Splits server → client bytes into frames; `rest` is an incomplete tail. */
export function decodeServerFrames(bytes: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const first = bytes[at]!;
    const second = bytes[at + 1]!;
    let length = second & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (bytes.length < offset + 2) break;
      length = bytes.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (bytes.length < offset + 8) break;
      length = Number(bytes.readBigUInt64BE(offset));
      offset += 8;
    }
    const masked = (second & 0x80) !== 0;
    if (masked) offset += 4;
    if (bytes.length < offset + length) break;
    frames.push({ fin: (first & 0x80) !== 0, rsv: (first >> 4) & 7, opcode: first & 0x0f, masked, payload: bytes.subarray(offset, offset + length) });
    at = offset + length;
  }
  return { frames, rest: bytes.subarray(at) };
}

/** A plain TCP connection that records everything the server sends. */
export class RawConnection {
  received = Buffer.alloc(0);
  closed = false;
  private readonly wakers = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined); // resets are fine: `closed` records the end
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** Half-closes our side (FIN): the server must then finish and close its side too. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** True once `check(received)` holds or the server closed; false on timeout. */
  waitFor(check: (received: Buffer) => boolean, timeoutMs = 5_000): Promise<boolean> {
    const done = () => this.closed || check(this.received);
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waker = () => {
        if (!done()) return;
        this.wakers.delete(waker);
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.wakers.delete(waker);
        resolve(false);
      }, timeoutMs);
      this.wakers.add(waker);
    });
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

export interface HttpHead {
  status: number;
  headers: Record<string, string>;
  /** Bytes after the head: the body, or WebSocket frames after a 101. */
  rest: Buffer;
}

export function parseHttpHead(bytes: Buffer): HttpHead | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: match ? Number(match[1]) : 0, headers, rest: bytes.subarray(end + 4) };
}

/** The body once complete (Content-Length or chunked), else undefined; a 101 or a body-less answer gives an empty body. */
export function completeBody(head: HttpHead, noBody: boolean): Buffer | undefined {
  if (head.status === 101 || noBody || head.status === 204 || head.status === 304) return Buffer.alloc(0);
  const length = head.headers['content-length'];
  if (length !== undefined) return head.rest.length >= Number(length) ? head.rest.subarray(0, Number(length)) : undefined;
  if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = head.rest.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(head.rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) return Buffer.concat(chunks);
      if (head.rest.length < lineEnd + 2 + size + 2) return undefined;
      chunks.push(head.rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return undefined; // delimited by the close
}
