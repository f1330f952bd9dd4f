/**
 * /v2/keys: Signal compatibility (SPEC §5, seed 000). Unmodified libsignal clients upload and
 * fetch keys here; the key sets, revocation, audit, rate limits and events are those of /v1.
 */
import type { AppDeps } from '../deps.ts';
import { createRouter } from '../../http/openapi.ts';
import { basicAccount } from './account.ts';
import { bundleRoutes } from './bundle-routes.ts';
import { deviceRoutes } from './device-routes.ts';
import { signalBasicAuthScheme } from './openapi.ts';

export function signalRoutes(deps: AppDeps) {
  const router = createRouter();
  router.openAPIRegistry.registerComponent('securitySchemes', 'signalBasicAuth', signalBasicAuthScheme);
  router.use('/v2/keys', basicAccount);
  router.use('/v2/keys/*', basicAccount);
  router.route('/', deviceRoutes(deps));
  router.route('/', bundleRoutes(deps));
  return router;
}
