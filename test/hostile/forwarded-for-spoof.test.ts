/**
 * Attack: behind a proxy (`--trust-proxy`), a client sends its own `X-Forwarded-For: 6.6.6.6`;
 * the proxy appends the real address, and the server took the left-most, forged entry for the
 * audit log (and anything keyed by client IP). Now the client is the right-most entry not
 * written by a trusted proxy: a hop count or a list of proxy addresses/CIDRs, as Express does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.ts';
import { ConfigError, resolveConfig } from '../../src/config.ts';
import { clientAddress, compileTrust, parseTrustProxy } from '../../src/http/trust-proxy.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';

let base: TestApp | undefined;
afterAll(() => base?.close());
let users = 0;

/** The IP the audit log records for a registration sent with this X-Forwarded-For. */
async function auditedIp(trustProxy: unknown, forwardedFor: string): Promise<string> {
  base ??= await createTestApp();
  // One store for all: each setting gets its own app over it.
  const t = await createTestApp({ store: base.store, http: { trustProxy: parseTrustProxy(trustProxy) } });
  const userId = `xff_user_${++users}`;
  const registered = await t.call('POST', '/v1/keys/register', registration(userId, 1).body, { headers: { 'x-forwarded-for': forwardedFor } });
  expect(registered.status).toBe(201);
  const [entry] = (await t.call('GET', `/v1/keys/audit?userId=${userId}`)).body.data;
  await t.close();
  return entry.ipAddress;
}

describe('X-Forwarded-For behind trusted proxies', () => {
  // The test app's socket peer is 127.0.0.1: the proxy in front.
  it('ignores what the client wrote left of the proxy (hop count, and the old `true`)', async () => {
    expect(await auditedIp('1', '6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    expect(await auditedIp(true, '6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    expect(await auditedIp('2', '6.6.6.6, 203.0.113.7, 10.0.0.2')).toBe('203.0.113.7');
  });

  it('skips every hop in a trusted CIDR list, IPv4 and IPv6', async () => {
    expect(await auditedIp('loopback, 10.0.0.0/8, fd00::/8', '6.6.6.6, 2001:db8::7, fd00::1, 10.1.2.3')).toBe('2001:db8::7');
  });

  it('uses the socket peer when it is not a trusted proxy, or when trust is off', async () => {
    expect(await auditedIp('10.0.0.0/8', '6.6.6.6')).toBe('127.0.0.1');
    expect(await auditedIp(false, '6.6.6.6')).toBe('127.0.0.1');
  });

  it('walks the chain like Express: all trusted → left-most, garbage ends at the proxy that passed it', () => {
    const trustAll = compileTrust(['0.0.0.0/0']);
    expect(clientAddress('10.0.0.1', '198.51.100.1, 10.0.0.9', trustAll)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.1', 'not-an-ip, 10.0.0.9', trustAll)).toBe('10.0.0.9');
    expect(clientAddress('::ffff:10.0.0.1', '198.51.100.1', compileTrust(['10.0.0.0/8']))).toBe('198.51.100.1');
  });

  it('reads the flag, env and config spellings, refusing a bad one clearly', () => {
    expect(resolveConfig(parseCommandLine(['--trust-proxy']).config).trustProxy).toBe(1);
    expect(resolveConfig(parseCommandLine(['--trust-proxy', '--port', '1']).config).trustProxy).toBe(1);
    expect(resolveConfig({ trustProxy: '10.0.0.0/8,::1' }).trustProxy).toEqual(['10.0.0.0/8', '::1']);
    expect(resolveConfig({ trustProxy: 'false' }).trustProxy).toBe(false);
    expect(() => resolveConfig({ trustProxy: '10.0.0.0/33' })).toThrow(ConfigError);
    expect(() => resolveConfig({ trustProxy: 'proxy.internal' })).toThrow(/--trust-proxy \(PREKEYD_TRUST_PROXY\): "proxy.internal" is not a hop count/);
  });
});
