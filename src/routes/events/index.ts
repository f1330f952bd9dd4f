/**
 * `GET /v1/events` in the OpenAPI document. The WebSocket itself is served by upgrade.ts on the
 * HTTP server's 'upgrade' event; this route only documents it and answers a plain GET (no
 * `Upgrade: websocket`) with 400, after the usual auth.
 */
import { z } from '@hono/zod-openapi';
import { AppError } from '../../domain/errors.ts';
import { createRouter, defineRoute, errorResponses } from '../../http/openapi.ts';

const protocol = `WebSocket push channel (SPEC §4). Connect with \`Upgrade: websocket\`; auth as every /v1 call (\`Authorization: Bearer\`), or \`?access_token=\` from browsers, which cannot set headers (accepted on this upgrade only; every other route answers it with 401). The master key acts on \`X-Project-Id\` or \`?projectId=\`. A refused upgrade is answered before the handshake, in the error envelope: 401 no valid key; 403 no \`events.subscribe\`; 429 the API key already has the maximum of connections open (1000 by default, \`--push-max-connections-per-key\`; the master key is exempt); 503 shutting down.

Client → server (JSON text frames):
- \`{"type":"subscribe","userIds":["user_a"],"since":"41"}\` — only users the key may act as; \`since\` (optional) replays every stored event after that id, in order, then continues live with no gap and no duplicate.
- \`{"type":"unsubscribe","userIds":["user_a"]}\`
- \`{"type":"ping"}\`

Server → client:
- \`{"type":"subscribed","userIds":[…],"cursor":"41"}\` — \`cursor\` is \`since\`, or the latest event id when \`since\` is absent or past it (only newer events follow).
- \`{"type":"event","id":"42","event":"prekeys.low","userId":"user_a","data":{…},"createdAt":"…"}\` — events: prekeys.low, prekeys.exhausted, keys.registered, keys.rotated, prekeys.replenished, keys.revoked, session.initiated, peer.keys.revoked.
- \`{"type":"pong"}\`
- \`{"type":"error","errorCode":"VALIDATION_ERROR","error":"…"}\` — bad message (non-JSON, unknown type, bad shape) or more users than allowed per connection (100 by default) → VALIDATION_ERROR; a user the key may not act as → FORBIDDEN (nothing is subscribed); the connection stays open.

Close codes: 1001 server shutting down; 1003 binary frame; 1008 the key was revoked or lost the right to a subscription; 1009 frame larger than the limit (64 KiB by default); 1013 the client fell more than the send buffer cap (1 MiB) behind — reconnect with \`since\`. The server pings every 30 s and drops peers that do not answer.`;

const events = defineRoute('events.subscribe', {
  method: 'get',
  path: '/v1/events',
  rateLimit: 'none',
  tags: ['Events'],
  summary: 'Push channel (WebSocket): pre-key, rotation, revocation and session events',
  description: protocol,
  request: {
    query: z.object({
      access_token: z.string().optional().openapi({ description: 'The API key, for browsers (instead of the Authorization header)' }),
      projectId: z.string().optional().openapi({ description: 'Project the master key acts on, for browsers (instead of X-Project-Id)' }),
    }),
  },
  responses: {
    101: { description: 'Switching Protocols: the WebSocket is open' },
    ...errorResponses(400, 403),
  },
});

export function eventRoutes() {
  return createRouter().openapi(events, () => {
    throw new AppError('VALIDATION_ERROR', 'GET /v1/events is a WebSocket endpoint: connect with Upgrade: websocket', [
      { field: 'Upgrade', message: 'must be websocket' },
    ]);
  });
}
