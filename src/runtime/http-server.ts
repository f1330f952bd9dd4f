/**
 * The one adapter between the Hono app and the runtime's HTTP server (Node's `node:http`
 * through @hono/node-server; Deno runs the same code through its Node compatibility).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

export const socketAddress = (c: Context): string | null => {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
};

/**
 * What one client can make the process hold before it is authenticated: connections (in all,
 * and per peer address) and time. Node's defaults (no cap, 300 s per request) suit no API.
 */
export interface ConnectionLimits {
  /** Open connections (WebSockets included); 0 = unlimited. Past it: 503 and close. */
  maxConnections: number;
  /** Open connections per peer address; 0 = unlimited. Past it: 429 and close. */
  maxConnectionsPerIp: number;
  /** Peers the per-address cap does not apply to: the trusted proxies every client comes through. */
  isTrustedProxy?: (address: string) => boolean;
  /** Time to receive the request headers. */
  headersTimeoutMs: number;
  /** Time to receive the whole request (headers and body). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  maxConnections: 4096,
  maxConnectionsPerIp: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/** Answers a connection over a cap and closes it (the request, if any, is never parsed). */
function refuseConnection(socket: Duplex, status: '429 Too Many Requests' | '503 Service Unavailable', code: string, message: string): void {
  const body = JSON.stringify({ success: false, error: message, errorCode: code });
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1_000).unref?.();
}

/** Counts connections per peer address and refuses those past the caps. */
function capConnections(server: Server, limits: ConnectionLimits): void {
  const perAddress = new Map<string, number>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    open++;
    const count = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, count);
    socket.once('close', () => {
      open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    if (limits.maxConnections > 0 && open > limits.maxConnections) {
      refuseConnection(socket, '503 Service Unavailable', 'UNAVAILABLE', 'Too many open connections; retry shortly');
    } else if (limits.maxConnectionsPerIp > 0 && count > limits.maxConnectionsPerIp && !limits.isTrustedProxy?.(address)) {
      refuseConnection(socket, '429 Too Many Requests', 'RATE_LIMITED', 'Too many open connections from this address');
    }
  });
}

/** Upgrade requests (WebSocket) bypass the Hono app: node:http hands over the raw socket. */
export type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Requests node:http cannot parse (bad header bytes, oversized headers, missing Host…) never
 * reach the app; answer them in the error envelope too rather than with an empty 400.
 */
function answerUnparseableRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    success: false,
    error: tooLarge ? 'Request headers too large' : 'Malformed HTTP request',
    errorCode: 'VALIDATION_ERROR',
  });
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function startHttpServer(
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>,
  host: string,
  port: number,
  onUpgrade?: UpgradeListener,
  limits: ConnectionLimits = defaultConnectionLimits,
) {
  return new Promise<RunningServer>((resolve, reject) => {
    const serverOptions = {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Timeouts are enforced on this tick; Node's 30 s default would stretch a 10 s one to 40 s.
      connectionsCheckingInterval: 1_000,
    };
    // An upgraded socket's headers were complete: the request timeout no longer applies to it.
    const server = serve({ fetch, hostname: host, port, serverOptions }, (info: AddressInfo) => {
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        server: server as Server,
        port: info.port,
        url: `http://${shownHost}:${info.port}`,
        close: (graceMs = 10_000) =>
          new Promise<void>((done) => {
            const timer = setTimeout(() => {
              (server as Server).closeAllConnections?.();
              done();
            }, graceMs);
            // Keep-alive connections become idle as their last request finishes: close them as they
            // do, rather than waiting out the keep-alive timeout.
            const sweeper = setInterval(() => (server as Server).closeIdleConnections?.(), 25);
            server.close(() => {
              clearTimeout(timer);
              clearInterval(sweeper);
              done();
            });
            (server as Server).closeIdleConnections?.();
          }),
      });
    }) as Server;
    capConnections(server, limits);
    if (onUpgrade) server.on('upgrade', onUpgrade);
    server.on('clientError', answerUnparseableRequest);
    server.once('error', reject);
  });
}
