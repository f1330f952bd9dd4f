/** /v1/keys/audit: route group, filled in by its issue. */
import type { AppDeps } from '../../http/app.ts';
import { createRouter } from '../../http/openapi.ts';

export function auditRoutes(_deps: AppDeps) {
  return createRouter();
}
