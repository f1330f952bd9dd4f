/** The Hono environment shared by every route: what middleware puts on the context. */
import type { Caller } from '../domain/principal.ts';
import type { RouteGuards } from './route-guards.ts';

export interface AppEnv {
  Variables: {
    /** Set by the auth middleware on every /v1, /v2 and /metrics request. */
    caller: Caller;
    requestId: string;
    /** The app's rate limiters and body reader, for the middleware of each route (route-guards.ts). */
    routeGuards: RouteGuards;
    /** The route pattern that matched, for logs and metrics. */
    routePattern?: string;
    /** `/v2` only: the Signal account and device named by Basic auth (`identifier.deviceId`). */
    signalAccount?: { identifier: string; deviceId: number };
    /** One-time pre-keys this request consumed beyond the one its bundle rate limit counted up front (multi-device claims). */
    extraPreKeysConsumed?: number;
  };
}
