/** /v1/api-keys (SPEC §2): route group, filled in by its issue. */
import type { AppDeps } from '../../http/app.ts';
import { createRouter } from '../../http/openapi.ts';

export function apiKeyRoutes(_deps: AppDeps) {
  return createRouter();
}
