/** Liveness and readiness, without auth. */
import { z } from '@hono/zod-openapi';
import type { Store } from '../store/types.ts';
import { createRouter, defineRoute, errorSchema, jsonResponse } from '../http/openapi.ts';

const healthz = defineRoute(null, {
  method: 'get',
  path: '/healthz',
  rateLimit: 'none',
  tags: ['Health'],
  summary: 'Liveness: the process answers',
  responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }).openapi({ example: { status: 'ok' } }), 'Alive') },
});

const readyz = defineRoute(null, {
  method: 'get',
  path: '/readyz',
  rateLimit: 'none',
  tags: ['Health'],
  summary: 'Readiness: storage is open',
  responses: {
    200: jsonResponse(z.object({ status: z.literal('ready') }).openapi({ example: { status: 'ready' } }), 'Ready'),
    503: jsonResponse(errorSchema, 'Storage not open (UNAVAILABLE)'),
  },
});

export function healthRoutes(store: Store) {
  return createRouter()
    .openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readyz, (c) =>
      store.isReady()
        ? c.json({ status: 'ready' as const }, 200)
        : c.json({ success: false as const, error: 'Storage is not open', errorCode: 'UNAVAILABLE' }, 503),
    );
}
