/** How `/v2` callers present their key (Signal clients use Basic auth); Bearer for now. */
import type { Context } from 'hono';
import { bearerToken } from '../../http/auth.ts';

export const signalCredentials = (c: Context) => ({ token: bearerToken(c) });
