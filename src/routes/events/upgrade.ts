/**
 * `GET /v1/events` upgrade requests (node:http's 'upgrade' event; Hono never sees them). Auth
 * is settled before the WebSocket handshake, so a refused client gets a plain HTTP answer in the
 * error envelope: 401 without a valid key, 403 without `events.subscribe`, 429 when its key has
 * too many connections open, 503 while the server shuts down.
 *
 * Browsers cannot set headers on a WebSocket: they pass `?access_token=` and, for the master
 * key, `?projectId=` (the `X-Project-Id` header wins when both are given).
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Authenticator } from '../../domain/authentication.ts';
import { AppError } from '../../domain/errors.ts';
import { requireAction } from '../../domain/principal.ts';
import { parseBearerToken } from '../../http/auth.ts';
import { errorBody, toAppError } from '../../http/errors.ts';
import type { Logger } from '../../log.ts';
import type { PushHub } from '../../push/hub.ts';

export const eventsPath = '/v1/events';

export interface EventsUpgradeDeps {
  authenticator: Authenticator;
  hub: PushHub;
  logger: Logger;
}

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Answers an upgrade request with an HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, error: AppError): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(errorBody(error));
  const head = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function eventsUpgradeHandler(deps: EventsUpgradeDeps): UpgradeHandler {
  const { authenticator, hub, logger } = deps;
  hub.onHandshakeError((error, socket) => rejectUpgrade(socket, new AppError('VALIDATION_ERROR', `Invalid WebSocket handshake: ${error.message}`)));

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = URL.canParse(request.url ?? '/', 'http://upgrade.invalid') ? new URL(request.url ?? '/', 'http://upgrade.invalid') : undefined;
    if (!url) throw new AppError('VALIDATION_ERROR', 'Malformed request target');
    if (url.pathname !== eventsPath) throw new AppError('NOT_FOUND', `No WebSocket endpoint at ${url.pathname}`);
    if (header(request, 'upgrade')?.toLowerCase() !== 'websocket') {
      throw new AppError('VALIDATION_ERROR', `${eventsPath} accepts only WebSocket upgrades`);
    }
    if (!hub.accepting) throw new AppError('UNAVAILABLE', 'The server is shutting down; reconnect shortly');
    const token = parseBearerToken(header(request, 'authorization'), url.searchParams.get('access_token'));
    const projectId = header(request, 'x-project-id') ?? url.searchParams.get('projectId') ?? undefined;
    const principal = await authenticator.authenticate(token, projectId);
    requireAction(principal, 'events.subscribe');
    if (!hub.hasRoomFor(principal)) {
      throw new AppError('RATE_LIMITED', 'This API key has the maximum number of push connections open; close one first');
    }
    if (socket.destroyed) return; // the client gave up while we authenticated
    hub.upgrade(request, socket, head, principal, token!);
  }

  return (request, socket, head) => {
    // node:http detaches its own error handling from an upgraded socket: a reset must not crash us.
    socket.on('error', (error) => logger.debug('upgrade socket error', { error: error.message }));
    admit(request, socket, head).catch((error: unknown) => rejectUpgrade(socket, toAppError(error, logger)));
  };
}
