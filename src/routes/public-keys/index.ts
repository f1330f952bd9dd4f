/** /v1/public-keys: route group, filled in by its issue. */
import type { AppDeps } from '../../http/app.ts';
import { createRouter } from '../../http/openapi.ts';

export function publicKeyRoutes(_deps: AppDeps) {
  return createRouter();
}
