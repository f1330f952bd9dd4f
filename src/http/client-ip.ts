/** The caller's IP: from the socket, or from X-Forwarded-For only when the operator trusts a proxy. */
import type { Context } from 'hono';

export type SocketAddress = (c: Context) => string | null;

export function clientIpResolver(trustProxy: boolean, socketAddress: SocketAddress) {
  return (c: Context): string | null => {
    if (trustProxy) {
      const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
      if (forwarded) return forwarded.slice(0, 64);
    }
    return socketAddress(c);
  };
}
