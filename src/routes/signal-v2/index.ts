/** /v2/keys (Signal compatibility): route group, filled in by its issue. */
import type { AppDeps } from '../../http/app.ts';
import { createRouter } from '../../http/openapi.ts';

export function signalRoutes(_deps: AppDeps) {
  return createRouter();
}
