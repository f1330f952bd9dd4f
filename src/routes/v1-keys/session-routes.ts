/** /v1/keys/shared-secret: server-assisted X3DH / PQXDH sessions (initiate, send the KEM ciphertext, read, complete). */
import type { Deps } from '../../domain/deps.ts';
import { completeSession, initiateSession, readSession, submitKemCiphertext } from '../../domain/sessions.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { completedSession, kemCiphertextBody, sessionParam, sessionView, sharedSecretBody, sharedSecretResult } from './session-schemas.ts';

const initiate = defineRoute('bundles.fetch', {
  method: 'post',
  path: '/v1/keys/shared-secret',
  rateLimit: 'keys',
  tags: ['Sessions'],
  summary: "Start an X3DH key agreement: returns the responder's bundle and records a session",
  description:
    "Consumes one of the responder's one-time pre-keys exactly like a bundle fetch (same drain limit; with none `oneTimePreKey` is null with a warning). The shared secret is computed client-side only. The responder is told through the event `session.initiated`; the session expires after 24 h.",
  request: { body: jsonBody(sharedSecretBody) },
  responses: {
    200: jsonResponse(success(sharedSecretResult), 'Session started'),
    ...errorResponses(400, 403, 404, 409, 410),
  },
});

const sendKemCiphertext = defineRoute('bundles.fetch', {
  method: 'post',
  path: '/v1/keys/shared-secret/{sessionId}/kem-ciphertext',
  rateLimit: 'keys',
  tags: ['Sessions'],
  summary: "PQXDH: send the ML-KEM ciphertext for the session's post-quantum pre-key, as its initiator",
  description:
    'For sessions started with `postQuantum: true` that handed out a `pqPreKey`. Stores `kemCiphertext` (1,568 bytes, hex or base64) and only then tells the responder (`session.initiated`). The same ciphertext again answers the same; another one is 409.',
  request: { params: sessionParam, body: jsonBody(kemCiphertextBody) },
  responses: {
    200: jsonResponse(success(sessionView), 'The session, ready for the responder'),
    ...errorResponses(400, 403, 404, 409),
  },
});

const read = defineRoute('bundles.fetch', {
  method: 'get',
  path: '/v1/keys/shared-secret/{sessionId}',
  rateLimit: 'keys',
  tags: ['Sessions'],
  summary: 'Read a live session as its responder',
  request: { params: sessionParam },
  responses: {
    200: jsonResponse(success(sessionView), 'The session'),
    ...errorResponses(400, 403, 404),
  },
});

const complete = defineRoute('bundles.fetch', {
  method: 'post',
  path: '/v1/keys/shared-secret/{sessionId}/complete',
  rateLimit: 'keys',
  tags: ['Sessions'],
  summary: 'Mark a live session completed, as its responder',
  request: { params: sessionParam },
  responses: {
    200: jsonResponse(success(completedSession, 'Session completed'), 'The completed session'),
    ...errorResponses(400, 403, 404, 409),
  },
});

export function sessionRoutes(deps: Deps) {
  return createRouter()
    .openapi(initiate, async (c) => {
      const data = await initiateSession(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, data }, 200);
    })
    .openapi(sendKemCiphertext, async (c) => {
      const data = await submitKemCiphertext(deps, c.get('caller'), c.req.valid('param').sessionId, c.req.valid('json').kemCiphertext);
      return c.json({ success: true as const, data }, 200);
    })
    .openapi(read, async (c) => {
      const data = await readSession(deps, c.get('caller'), c.req.valid('param').sessionId);
      return c.json({ success: true as const, data }, 200);
    })
    .openapi(complete, async (c) => {
      const data = await completeSession(deps, c.get('caller'), c.req.valid('param').sessionId);
      return c.json({ success: true as const, message: 'Session completed', data }, 200);
    });
}
