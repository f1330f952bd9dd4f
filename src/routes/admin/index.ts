/** Operator routes: GET /metrics and POST /v1/admin/snapshot. */
import { z } from '@hono/zod-openapi';
import { AppError } from '../../domain/errors.ts';
import type { AppDeps } from '../deps.ts';
import { createRouter, defineRoute, errorResponses } from '../../http/openapi.ts';
import { exportSnapshot } from '../../store/snapshot.ts';

const metricsRoute = defineRoute('metrics.read', {
  method: 'get',
  path: '/metrics',
  rateLimit: 'none',
  tags: ['Operations'],
  summary: 'Prometheus metrics (text exposition format)',
  responses: {
    200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses(403),
  },
});

const snapshotRoute = defineRoute('*', {
  method: 'post',
  path: '/v1/admin/snapshot',
  rateLimit: 'none',
  tags: ['Operations'],
  summary: 'Download a consistent copy of the embedded database (master key only)',
  description: 'The answer is a standalone SQLite file; start a server with `--db` pointing at it to restore.',
  responses: {
    200: { description: 'The database file', content: { 'application/vnd.sqlite3': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errorResponses(400, 403),
  },
});

export function adminRoutes(deps: AppDeps) {
  return createRouter()
    .openapi(metricsRoute, async (c) => {
      if (!deps.metrics) throw new AppError('NOT_FOUND', 'Metrics are not enabled');
      return c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType });
    })
    .openapi(snapshotRoute, async (c) => {
      if (c.get('caller').principal.kind !== 'master') throw new AppError('FORBIDDEN', 'Snapshots need the master key');
      const bytes = await exportSnapshot(deps.store);
      const name = `prekeyd-snapshot-${new Date().toISOString().replace(/[:.]/g, '-')}.db`;
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'content-type': 'application/vnd.sqlite3',
        'content-disposition': `attachment; filename="${name}"`,
      });
    });
}
