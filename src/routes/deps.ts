/**
 * What the route groups are built from: the domain's dependencies plus the HTTP side's
 * (authenticator, settings, metrics). The app factory (src/app.ts) takes the same, so routes
 * name their dependencies here without importing the factory that mounts them.
 */
import type { Authenticator } from '../domain/authentication.ts';
import type { Deps } from '../domain/deps.ts';
import type { RefusalLog } from '../domain/refusals.ts';
import type { SocketAddress } from '../http/client-ip.ts';
import type { TrustProxySetting } from '../http/trust-proxy.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface HttpSettings {
  bodyLimit: number;
  /** Bytes of request bodies the whole process holds at once (default 64 MiB); past it: 503. */
  bodyBudgetBytes?: number;
  /** Comma-separated browser origins allowed by CORS, or `*`; undefined: no CORS headers. */
  corsOrigins?: string;
  /** Who may report the client address in X-Forwarded-For (trust-proxy.ts); `true` = one proxy. */
  trustProxy: TrustProxySetting | boolean;
  rateLimitKeys: number;
  rateLimitBundle: number;
}

export interface AppDeps extends Deps {
  http: HttpSettings;
  authenticator: Authenticator;
  logger?: Logger;
  metrics?: Metrics;
  /** The peer address of the request's socket (runtime-specific). */
  socketAddress?: SocketAddress;
  version?: string;
  /** Where refused requests are audited or counted; one is made when absent. */
  refusals?: RefusalLog;
}
