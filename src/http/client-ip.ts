/** The caller's IP: the socket peer, or what trusted proxies report in X-Forwarded-For (trust-proxy.ts). */
import type { Context } from 'hono';
import { clientAddress, compileTrust, type TrustProxySetting } from './trust-proxy.ts';

export type SocketAddress = (c: Context) => string | null;

export function clientIpResolver(trustProxy: TrustProxySetting | boolean, socketAddress: SocketAddress) {
  const trust = compileTrust(trustProxy);
  return (c: Context): string | null => {
    const peer = socketAddress(c);
    if (peer === null) return null;
    return clientAddress(peer, c.req.header('x-forwarded-for'), trust).slice(0, 64);
  };
}
