/** /v1/keys/shared-secret: route group, filled in by its issue. */
import type { AppDeps } from '../../http/app.ts';
import { createRouter } from '../../http/openapi.ts';

export function sessionRoutes(_deps: AppDeps) {
  return createRouter();
}
