/** /v1/api-keys (SPEC §2): every route needs `apiKeys.manage`. */
import type { AppDeps } from '../deps.ts';
import { createRouter } from '../../http/openapi.ts';
import { apiKeyCollectionRoutes } from './collection-routes.ts';
import { apiKeyItemRoutes } from './item-routes.ts';

export function apiKeyRoutes(deps: AppDeps) {
  return createRouter().route('/', apiKeyCollectionRoutes(deps)).route('/', apiKeyItemRoutes(deps));
}
