/**
 * `--trust-proxy`: which peers may tell us the client's address in `X-Forwarded-For`, as
 * Express's `trust proxy` does. Each proxy appends the address it received the request from, so
 * only the right-most entries were written by proxies we run; anything to their left is the
 * client's say. The client is the first address, walking from the socket peer leftwards through
 * the header, that is not a trusted proxy.
 * - a hop count `n`: the socket peer and the next n-1 entries are proxies (`1`: one proxy in front);
 * - a list of addresses and CIDR ranges (IPv4, IPv6) and the names `loopback`, `linklocal`,
 *   `uniquelocal`: those addresses are proxies, wherever they appear;
 * - `false`/`0`: off, the socket peer is the client. `true` (the old boolean spelling) means `1`.
 *
 * @example
 * parseTrustProxy('10.0.0.0/8, ::1');  // ['10.0.0.0/8', '::1']
 * parseTrustProxy(true);               // 1
 */
import { isIP } from 'node:net';

/** The parsed setting, as `config print` shows it. */
export type TrustProxySetting = false | number | string[];

/** Whether the address at `hop` (0 = socket peer) is a proxy we trust. */
export type ProxyTrust = (address: string, hop: number) => boolean;

const presets: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

const maxHops = 64;

/** `::ffff:1.2.3.4` is the IPv4 address 1.2.3.4 (a dual-stack socket reports it so). */
export function normalizeAddress(text: string): string | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  return isIP(address) === 0 ? undefined : address.toLowerCase();
}

interface Range {
  family: 4 | 6;
  base: bigint;
  prefix: number;
}

function addressBits(address: string): { family: 4 | 6; bits: bigint } {
  if (isIP(address) === 4) {
    const value = address.split('.').reduce((sum, part) => (sum << 8n) | BigInt(Number(part)), 0n);
    return { family: 4, bits: value };
  }
  // Expand `::` and a trailing dotted IPv4 part into eight 16-bit groups.
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = addressBits(dotted[1]!).bits;
    text = `${text.slice(0, -dotted[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return { family: 6, bits: groups.reduce((sum, group) => (sum << 16n) | BigInt(Number.parseInt(group || '0', 16)), 0n) };
}

function parseRange(entry: string): Range | undefined {
  const [addressText, prefixText, extra] = entry.split('/');
  if (extra !== undefined || addressText === undefined) return undefined;
  const address = normalizeAddress(addressText);
  if (!address) return undefined;
  const { family, bits } = addressBits(address);
  const width = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= width)) return undefined;
  return { family, base: bits >> BigInt(width - prefix), prefix };
}

function inRange(range: Range, family: 4 | 6, bits: bigint): boolean {
  if (range.family !== family) return false;
  const width = family === 4 ? 32 : 128;
  return bits >> BigInt(width - range.prefix) === range.base;
}

const invalidEntry = (entry: string) =>
  new Error(`"${entry}" is not a hop count, an IP address or CIDR range (10.0.0.0/8, fd00::/8), or loopback, linklocal, uniquelocal`);

/** Reads the flag, env var or config value; throws with a message naming the bad part. */
export function parseTrustProxy(value: unknown): TrustProxySetting {
  if (value === false || value === undefined || value === null) return false;
  if (value === true) return 1;
  if (Array.isArray(value)) return parseTrustProxy(value.join(','));
  const text = String(value).trim().toLowerCase();
  if (['', 'false', 'no', 'off', '0'].includes(text)) return false;
  if (['true', 'yes', 'on'].includes(text)) return 1;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > maxHops) throw new Error(`at most ${maxHops} hops`);
    return hops;
  }
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  for (const entry of entries) if (!presets[entry] && !parseRange(entry)) throw invalidEntry(entry);
  return entries;
}

export function compileTrust(setting: TrustProxySetting | boolean): ProxyTrust {
  const parsed = typeof setting === 'boolean' ? parseTrustProxy(setting) : setting;
  if (parsed === false) return () => false;
  if (typeof parsed === 'number') return (_address, hop) => hop < parsed;
  const ranges = parsed.flatMap((entry) => presets[entry] ?? [entry]).map((entry) => parseRange(entry)!);
  return (address) => {
    const normalized = normalizeAddress(address);
    if (!normalized) return false;
    const { family, bits } = addressBits(normalized);
    return ranges.some((range) => inRange(range, family, bits));
  };
}

/**
 * The client's address: the socket peer, or the right-most `X-Forwarded-For` entry not written
 * by a trusted proxy. An entry that is no IP address ends the walk at the proxy that passed it.
 */
export function clientAddress(socketPeer: string, forwardedFor: string | undefined, trust: ProxyTrust): string {
  let current = normalizeAddress(socketPeer) ?? socketPeer;
  if (!forwardedFor) return current;
  const hops = forwardedFor.split(',');
  for (let hop = 0; trust(current, hop) && hops.length > 0; hop++) {
    const next = normalizeAddress(hops.pop()!);
    if (!next) return current;
    current = next;
  }
  return current;
}
