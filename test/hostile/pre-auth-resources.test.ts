/**
 * Attack: hold the server's memory, sockets and time without a key. Chunked bodies were buffered
 * up to the body limit before the key was checked (300 anonymous sockets: +310 MiB), with no
 * connection cap and Node's 300 s request timeout; and a body over the limit got a socket reset
 * instead of a readable 413 (Node's fetch: UND_ERR_SOCKET). Now: authentication before any body
 * byte, a process-wide budget for in-flight bodies, connection caps (total and per address),
 * API-sized timeouts, and every refusal readable by the client.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

/** A raw HTTP/1.1 client socket recording everything the server sends. */
class RawClient {
  received = '';
  closed = false;
  private readonly socket: Socket;
  private readonly ready: Promise<void>;

  constructor(port: number, localAddress = '127.0.0.1') {
    this.socket = connect({ host: '127.0.0.1', port, localAddress });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => (this.received += chunk));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => undefined);
    this.ready = new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  async send(text: string | Buffer): Promise<void> {
    await this.ready;
    await new Promise<void>((resolve) => this.socket.write(text, () => resolve()));
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.received)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.received.slice(0, 300))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.received;
  }

  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const chunkedHead = (path: string, token?: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`;
const chunk = (bytes: number) => `${bytes.toString(16)}\r\n${'a'.repeat(bytes)}\r\n`;

describe('resources a client holds before and while it is authenticated', () => {
  let server: ServerProcess;
  const clients: RawClient[] = [];
  const client = (port: number, localAddress?: string) => {
    const made = new RawClient(port, localAddress);
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    // One server for all: each test's raw sockets come from their own loopback address.
    server = await startServerProcess({
      args: [
        '--body-budget',
        String(1024 * 1024),
        '--headers-timeout',
        '1s',
        '--request-timeout',
        '2s',
        '--max-connections',
        '12',
        '--max-connections-per-ip',
        '8',
      ],
    });
  });
  afterAll(async () => {
    for (const made of clients) made.destroy();
    await server?.stop();
  });

  it('answers a body over the limit with a 413 the client can read, every time', async () => {
    // Its own server with the default connection caps: each refused upload's socket is drained for
    // a while after the answer, and fetch's next one may overlap it (the caps are tested below).
    const own = await startServerProcess({ args: ['--body-budget', String(1024 * 1024)] });
    const body = JSON.stringify({ userId: 'u', padding: 'x'.repeat(4 * 1024 * 1024) });
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        for (const token of [masterKey, undefined]) {
          const response = await fetch(`${own.url}/v1/keys/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
            body,
          });
          expect(response.status).toBe(token ? 413 : 401);
          expect(response.headers.get('connection')).toBe('close');
          expect((await response.json()).errorCode).toBe(token ? 'PAYLOAD_TOO_LARGE' : 'UNAUTHORIZED');
        }
      }
    } finally {
      await own.stop();
    }
  });

  it('refuses an anonymous chunked body before reading it', async () => {
    const anonymous = client(server.port, '127.0.0.2');
    await anonymous.send(chunkedHead('/v1/keys/register'));
    await anonymous.send(chunk(64 * 1024)); // and never the last chunk
    expect(await anonymous.waitFor(/^HTTP\/1\.1 401 /)).toMatch(/"errorCode":"UNAUTHORIZED"/);
  });

  it('keeps in-flight bodies of all requests within the process budget (503, Retry-After)', async () => {
    const first = client(server.port, '127.0.0.3');
    await first.send(chunkedHead('/v1/keys/register', masterKey));
    await first.send(chunk(700 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = client(server.port, '127.0.0.4');
    await second.send(chunkedHead('/v1/keys/register', masterKey));
    await second.send(chunk(700 * 1024));
    const refused = await second.waitFor(/^HTTP\/1\.1 503 [\s\S]*"errorCode":"UNAVAILABLE"/);
    expect(refused).toMatch(/retry-after: 1/i);
    // The first one is still being received: it completes and is answered on its merits.
    await first.send('0\r\n\r\n');
    expect(await first.waitFor(/^HTTP\/1\.1 400 /)).toMatch(/"errorCode":"VALIDATION_ERROR"/);
  });

  it('drops a client that does not finish its headers or its request in time', async () => {
    const slowHeaders = client(server.port, '127.0.0.5');
    await slowHeaders.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await slowHeaders.waitClosed(8_000); // Node's default: 60 s
    const slowBody = client(server.port, '127.0.0.6');
    await slowBody.send(chunkedHead('/v1/keys/register', masterKey));
    await slowBody.send(chunk(10));
    await slowBody.waitClosed(10_000); // Node's default: 300 s
  });

  it('caps open connections per address and in all', async () => {
    for (const made of clients) made.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the server sees the earlier sockets close
    const local = Array.from({ length: 8 }, () => client(server.port, '127.0.0.7'));
    for (const made of local) await made.send('');
    const overAddress = client(server.port, '127.0.0.7');
    expect(await overAddress.waitFor(/^HTTP\/1\.1 429 /)).toMatch(/"errorCode":"RATE_LIMITED"/);
    await overAddress.waitClosed(10_000);
    // Other addresses still get in, up to the total.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = Array.from({ length: 4 }, () => client(server.port, '127.0.0.8'));
    for (const made of other) await made.send('');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const overTotal = client(server.port, '127.0.0.9');
    expect(await overTotal.waitFor(/^HTTP\/1\.1 503 /)).toMatch(/"errorCode":"UNAVAILABLE"/);
    // The admitted ones are served.
    await local[0]!.send('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await local[0]!.waitFor(/^HTTP\/1\.1 200 /);
  });
});
