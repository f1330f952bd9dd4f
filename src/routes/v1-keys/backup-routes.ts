/** /v1/keys/backup and /v1/keys/recover: route group, filled in by its issue. */
import type { AppDeps } from '../../http/app.ts';
import { createRouter } from '../../http/openapi.ts';

export function backupRoutes(_deps: AppDeps) {
  return createRouter();
}
