/**
 * The one adapter between the Hono app and the runtime's HTTP server (Node's `node:http`
 * through @hono/node-server; Deno runs the same code through its Node compatibility).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
) {
  return new Promise<RunningServer>((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, (info: AddressInfo) => {
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
    if (onUpgrade) server.on('upgrade', onUpgrade);
    server.on('clientError', answerUnparseableRequest);
    server.once('error', reject);
  });
}
