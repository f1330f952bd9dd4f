/**
 * Configuration, parsed once at start: command-line flags win over `PREKEYD_*` environment
 * variables, which win over defaults. Every option is declared once here; the help text and
 * the flag parser are generated from this table.
 */
import { z } from 'zod';
import { parseTrustProxy } from './http/trust-proxy.ts';
import { redactCredentials } from './redact.ts';

/** `30d`, `12h`, `90m`, `45s`, `500ms`, or `0`; a bare number would be ambiguous (days? seconds?). */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  if (match[2] === undefined) return Number(match[1]) === 0 ? 0 : undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2]];
  return Number(match[1]) * unit!;
}

/** Durations in a config file may also be numbers of milliseconds. */
const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, context) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === undefined) {
    context.addIssue({ code: 'custom', message: `"${value}" is not a duration (use a unit: 30d, 12h, 15m, 30s, or 0)` });
    return z.NEVER;
  }
  return ms;
});
const count = z.coerce.number().int().nonnegative();
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => (typeof value === 'boolean' ? value : ['true', '1', 'yes'].includes(value)));

export const configSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  db: z.string().min(1).default('./prekeyd-data/prekeyd.db'),
  masterKey: z.string().optional(),
  masterKeyFile: z.string().min(1).optional(),
  env: z.enum(['development', 'production']).default('development'),
  signedPrekeyMaxAge: duration.default(30 * 86_400_000),
  prekeyLowThreshold: count.default(5),
  rateLimitKeys: count.default(200),
  rateLimitBundle: count.default(100),
  drainLimit: count.default(30),
  maxDevicesPerClaim: z.coerce.number().int().min(1).max(1000).default(100),
  bodyLimit: count.default(1024 * 1024),
  bodyBudget: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  maxConnections: count.default(4096),
  maxConnectionsPerIp: count.default(256),
  headersTimeout: duration.default(10_000),
  requestTimeout: duration.default(30_000),
  keepAliveTimeout: duration.default(5_000),
  maxBackupBytes: count.default(512 * 1024),
  backupVersions: z.coerce.number().int().min(1).default(10),
  maxDevicesPerUser: count.default(20),
  maxPublicKeysPerOwner: count.default(100),
  signedPrekeyHistory: z.coerce.number().int().min(2).default(10),
  maxProjectBytes: count.default(1024 * 1024 * 1024),
  trustProxy: z
    .union([z.boolean(), z.number(), z.string(), z.array(z.string())])
    .default(false)
    .transform((value, context) => {
      try {
        return parseTrustProxy(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  eventRetention: duration.default(7 * 86_400_000),
  pushHeartbeat: duration.default(30_000),
  pushMaxBufferBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  pushMaxFrameBytes: z.coerce
    .number()
    .int()
    .min(256)
    .default(64 * 1024),
  pushMaxSubscriptions: z.coerce.number().int().min(1).default(100),
  pushMaxConnectionsPerKey: count.default(1000),
  allowServerKeygen: flag.default(false),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  corsOrigin: z.string().optional(),
  metricsPort: z.coerce.number().int().min(0).max(65535).optional(),
  checkpointBytes: count.default(64 * 1024 * 1024),
  pgPoolSize: z.coerce.number().int().min(1).max(1000).default(10),
  config: z.string().optional(),
  transparency: flag.default(false),
  transparencyInterval: duration.default(1000),
  transparencyOrigin: z.string().optional(),
  transparencyWitness: z.string().optional(),
  transparencyWitnessTimeout: duration.default(5000),
  transparencyPublic: z.string().optional(),
});

export type Config = z.output<typeof configSchema>;
export type ConfigKey = keyof Config;

interface OptionInfo {
  flag: string;
  env: string;
  boolean?: boolean;
  secret?: boolean;
  help: string;
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (char) => `-${char.toLowerCase()}`);
const snake = (key: string): string => kebab(key).replace(/-/g, '_').toUpperCase();

const help: Record<ConfigKey, string> = {
  host: 'interface to listen on (default 127.0.0.1)',
  port: 'port to listen on; 0 picks a free port (default 8080)',
  db: 'database: a file path (embedded SQLite) or a postgres:// URL (default ./prekeyd-data/prekeyd.db)',
  masterKey: 'master key; required (>= 32 characters) in production, generated on first start in development',
  masterKeyFile: 'read the master key from this file (see prekeyd master-key new); instead of --master-key',
  env: 'development | production (default development)',
  signedPrekeyMaxAge: 'a signed pre-key older than this makes the key set expired: 30d, 12h… 0 = never (default 30d)',
  prekeyLowThreshold: 'prekeys.low is pushed while fewer one-time pre-keys are stored (default 5)',
  rateLimitKeys: 'requests a minute per API key on /v1/keys/* and /v2/keys; 0 = off (default 200)',
  rateLimitBundle: 'bundle fetches a minute per API key; 0 = off (default 100)',
  drainLimit: 'one-time pre-keys one API key may consume of one user a minute; 0 = off (default 30)',
  maxDevicesPerClaim: 'devices one multi-device bundle claim may serve, 1-1000 (default 100)',
  bodyLimit: 'largest JSON body in bytes (default 1048576)',
  bodyBudget: 'bytes of request bodies the process holds at once, all requests together; past it 503 (default 64 MiB)',
  maxConnections: 'open connections in all, WebSockets included; past it 503 and close; 0 = unlimited (default 4096)',
  maxConnectionsPerIp: 'open connections per peer address (trusted proxies exempt); past it 429 and close; 0 = unlimited (default 256)',
  headersTimeout: 'time a client has to send the request headers (default 10s)',
  requestTimeout: 'time a client has to send the whole request, headers and body; 0 = none (default 30s)',
  keepAliveTimeout: 'how long an idle keep-alive connection stays open (default 5s)',
  maxBackupBytes: 'largest decoded backup blob in bytes (default 524288)',
  backupVersions: 'backup versions kept per user; older ones are deleted when a new one is stored (default 10, at least 1)',
  maxDevicesPerUser: 'live devices (key sets) per user; more answers 403 QUOTA_EXCEEDED; 0 = unlimited (default 20)',
  maxPublicKeysPerOwner: 'public keys per owner in the directory; more answers 403 QUOTA_EXCEEDED; 0 = unlimited (default 100)',
  signedPrekeyHistory: 'replaced signed pre-keys kept per key set, plus any an unexpired session names (default 10, at least 2)',
  maxProjectBytes: 'decoded backup bytes per project; more answers 403 QUOTA_EXCEEDED; 0 = unlimited (default 1073741824)',
  trustProxy:
    'behind proxies you run: a hop count (1 = one proxy in front; true means 1) or a list of proxy IPs/CIDRs (10.0.0.0/8,::1, loopback, uniquelocal); the client IP is the right-most X-Forwarded-For entry not from such a proxy (default off)',
  eventRetention: 'how long push events are kept for replay (default 7d)',
  pushHeartbeat: 'WebSocket ping interval; peers that miss a ping are dropped: 30s, 1m… 0 = off (default 30s)',
  pushMaxBufferBytes: 'close a WebSocket (1013) that falls this many bytes behind (default 1048576)',
  pushMaxFrameBytes: 'largest WebSocket frame a client may send; larger closes with 1009 (default 65536)',
  pushMaxSubscriptions: 'users one WebSocket connection may subscribe to (default 100)',
  pushMaxConnectionsPerKey: 'open WebSocket connections per API key, master key exempt; 0 = unlimited (default 1000)',
  allowServerKeygen: 'enable POST /v1/public-keys/generate (the server then sees private keys)',
  logLevel: 'debug | info | warn | error | silent (default info)',
  corsOrigin: 'allowed browser origins, comma separated, or * (default: no CORS)',
  metricsPort: 'serve /metrics without auth on this separate port',
  checkpointBytes: 'fold the embedded journal into the database file past this size (default 64 MiB)',
  pgPoolSize: "PostgreSQL only: connections in this instance's pool (default 10)",
  config: 'JSON configuration file; flags and environment win over it',
  transparency: 'keep a public, witnessed Merkle log of every key publication per project; bundles carry proofs',
  transparencyInterval: 'shortest time between two checkpoints of a log (default 1s)',
  transparencyOrigin: 'checkpoint origin of new logs, {project} replaced by the project id (default <hostname>/prekeyd/{project})',
  transparencyWitness: 'tlog-witness URL prefixes asked to cosign each checkpoint, comma separated',
  transparencyWitnessTimeout: 'how long one witness call may take (default 5s)',
  transparencyPublic: 'projects whose log entries anyone may read, comma separated, or * (default: none)',
};

export const options: Record<ConfigKey, OptionInfo> = Object.fromEntries(
  Object.entries(help).map(([key, text]) => [
    key,
    {
      flag: kebab(key),
      env: `PREKEYD_${snake(key)}`,
      help: text,
      boolean: key === 'allowServerKeygen' || key === 'transparency',
      secret: key === 'masterKey',
    },
  ]),
) as Record<ConfigKey, OptionInfo>;

export class ConfigError extends Error {}

/** Merges layers (lowest first) and validates, naming each bad setting in the error. */
export function resolveConfig(...layers: Array<Partial<Record<ConfigKey, unknown>>>): Config {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key] = value;
  const unknown = Object.keys(merged).filter((key) => !(key in options));
  if (unknown.length > 0) throw new ConfigError(`Unknown setting${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  const result = configSchema
    .superRefine((config, context) => {
      // node:http refuses a headers timeout longer than the request timeout.
      if (config.requestTimeout > 0 && config.headersTimeout > config.requestTimeout) {
        context.addIssue({ code: 'custom', path: ['headersTimeout'], message: 'must not exceed --request-timeout' });
      }
    })
    .safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const info = options[key as ConfigKey];
      return info ? `--${info.flag} (${info.env}): ${issue.message}` : issue.message;
    });
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

/** The `PREKEYD_*` variables that are set. */
export function configFromEnv(env: Record<string, string | undefined>): Partial<Record<ConfigKey, unknown>> {
  const layer: Partial<Record<ConfigKey, unknown>> = {};
  for (const [key, info] of Object.entries(options)) {
    const value = env[info.env];
    if (value !== undefined && value !== '') layer[key as ConfigKey] = value;
  }
  return layer;
}

/** For printing: secrets replaced, and passwords in URLs (userinfo, `password=`) hidden. */
export function maskSecrets(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (options[key as ConfigKey]?.secret && value) return [key, '********'];
      if (typeof value === 'string') return [key, redactCredentials(value)];
      return [key, value];
    }),
  );
}
