/** /v1/public-keys: the public-key directory of seed 002 and its opt-in server-side keygen. */
import type { AppDeps } from '../deps.ts';
import { createRouter } from '../../http/openapi.ts';
import { generateRoutes } from './generate-route.ts';
import { readRoutes } from './read-routes.ts';
import { writeRoutes } from './write-routes.ts';

export function publicKeyRoutes(deps: AppDeps) {
  return createRouter().route('/', generateRoutes(deps)).route('/', readRoutes(deps)).route('/', writeRoutes(deps));
}
