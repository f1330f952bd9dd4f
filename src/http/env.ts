/** The Hono environment shared by every route: what middleware puts on the context. */
import type { Caller } from '../domain/principal.ts';

export interface AppEnv {
  Variables: {
    caller: Caller;
    requestId: string;
    /** The route pattern that matched, for logs and metrics. */
    routePattern?: string;
  };
}
