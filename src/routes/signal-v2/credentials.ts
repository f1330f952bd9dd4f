/**
 * How `/v2` callers present their key. Signal clients send Basic `identifier.deviceId:<key>`
 * (seed 000); the key is an API key or the master key. Bearer works as everywhere else.
 *
 * @example
 * // Authorization: Basic base64("+16044401234.2:pkd_…") → token pkd_…, account +16044401234 device 2
 */
import type { Context } from 'hono';
import { decodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import { bearerToken, type TokenExtractor } from '../../http/auth.ts';
import { parseSignalAccount, type SignalAccount } from '../../domain/signal-account.ts';

interface BasicCredentials {
  account: SignalAccount;
  key: string;
}

/** Basic credentials naming a valid account; undefined when absent or malformed (then the caller is unauthenticated). */
export function basicCredentials(c: Context): BasicCredentials | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  const bytes = match && decodeBase64(match[1]!);
  if (!bytes) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const account = parseSignalAccount(text.slice(0, colon));
  const key = text.slice(colon + 1);
  return account && key ? { account, key } : undefined;
}

export const signalCredentials: TokenExtractor = (c) => {
  if (/^Basic\s/i.test(c.req.header('authorization') ?? '')) {
    const basic = basicCredentials(c);
    return { token: basic?.key, basicUser: basic && `${basic.account.identifier}.${basic.account.deviceId}` };
  }
  return { token: bearerToken(c) };
};
