/** OpenAPI for `/v2`: its routes accept Signal's Basic auth besides the Bearer token of every route. */
import type { RouteConfig } from '@hono/zod-openapi';

export const signalBasicAuthScheme = {
  type: 'http' as const,
  scheme: 'basic',
  description: 'Signal clients: `identifier.deviceId:<API key or master key>` (a bare identifier means device 1)',
};

/** `defineRoute` documents Bearer only; the copy adds Basic (the ACL middleware and action stay). */
export const withBasicAuth = <R extends RouteConfig>(route: R): R => ({
  ...route,
  security: [{ bearerAuth: [] }, { signalBasicAuth: [] }],
});
