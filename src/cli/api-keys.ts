/**
 * `prekeyd api-keys create|list|revoke`: offline administration of API keys, for setting up a
 * deployment before (or without) calling the API. It opens the database directly and calls the
 * same domain functions as `/v1/api-keys`, as the master key of the key's project.
 *
 * A running server keeps the embedded database in memory, so it must be stopped first: the
 * store's process lock makes this command refuse a database a live server holds.
 *
 * @example
 * prekeyd api-keys create --project app1 --acl keys.register,bundles.fetch --user-ids 'user_*' --db ./data/prekeyd.db
 */
import process from 'node:process';
import { configFromEnv, resolveConfig } from '../config.ts';
import { type ApiKeyView, createApiKey, listApiKeys, updateApiKey } from '../domain/api-keys.ts';
import { defaultDomainSettings, type Deps, systemClock } from '../domain/deps.ts';
import { AppError } from '../domain/errors.ts';
import { type Caller, masterPrincipal } from '../domain/principal.ts';
import { createApiKeyBody } from '../routes/api-keys/schemas.ts';
import { openStore } from '../store/open-store.ts';
import { parseCommandLine } from './args.ts';
import { requireExistingDatabase } from './existing-database.ts';
import { apiKeysUsage } from './help.ts';
import { readConfigFile } from './config-file.ts';

const flags = {
  project: { type: 'string' },
  acl: { type: 'string' },
  'user-ids': { type: 'string' },
  description: { type: 'string' },
  'expires-at': { type: 'string' },
  json: { type: 'boolean' },
  'create-db': { type: 'boolean' },
} as const;

/** Body fields of POST /v1/api-keys by the flag that sets them, for error messages. */
const flagOf: Record<string, string> = { projectId: 'project', acl: 'acl', userIds: 'user-ids', description: 'description', expiresAt: 'expires-at' };

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: Output = { out: (line) => console.log(line), err: (line) => console.error(line) };

const commaList = (value: unknown): string[] | undefined =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : undefined;

/** `--expires-at 1893456000` is unix seconds; anything else is taken as an RFC 3339 date-time. */
const expiry = (value: unknown): string | number | undefined => (typeof value !== 'string' ? undefined : /^\d+$/.test(value) ? Number(value) : value);

function describeKey(key: ApiKeyView): string {
  const state = key.revoked ? 'revoked' : key.expiresAt ? `expires ${key.expiresAt}` : 'no expiry';
  return [key.uid, key.projectId, key.prefix, key.acl.join(','), key.userIds.join(','), state, key.description ?? ''].join('\t');
}

type Subcommand = (deps: Deps, args: ReturnType<typeof parseCommandLine>, output: Output) => Promise<number>;

const create: Subcommand = async (deps, { extra }, output) => {
  const parsed = createApiKeyBody.safeParse({
    projectId: extra.project,
    acl: commaList(extra.acl),
    userIds: commaList(extra['user-ids']),
    description: extra.description,
    expiresAt: expiry(extra['expires-at']),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${flagOf[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`);
    throw new AppError('VALIDATION_ERROR', `Invalid arguments:\n  ${problems.join('\n  ')}`);
  }
  const created = await createApiKey(deps, cliCaller(parsed.data.projectId), parsed.data);
  if (extra.json) {
    output.out(JSON.stringify(created));
  } else {
    output.out(`Created API key ${created.uid} in project ${created.projectId}. The key is shown only this once; store it now:`);
    output.out(created.key);
  }
  return 0;
};

const list: Subcommand = async (deps, { extra }, output) => {
  const projectId = typeof extra.project === 'string' ? extra.project : undefined;
  const keys: ApiKeyView[] = [];
  for (let page = 1; ; page++) {
    const { data, pagination } = await listApiKeys(deps, cliCaller(projectId), { projectId, page, limit: 100 });
    keys.push(...data);
    if (!pagination.hasNextPage) break;
  }
  if (extra.json) output.out(JSON.stringify(keys));
  else for (const key of keys) output.out(describeKey(key));
  return 0;
};

const revoke: Subcommand = async (deps, { positionals, extra }, output) => {
  const uid = positionals[1];
  if (!uid) throw new AppError('VALIDATION_ERROR', 'revoke needs the uid of a key: prekeyd api-keys revoke UID --db FILE');
  const key = await updateApiKey(deps, cliCaller(undefined), uid, { revoked: true });
  output.out(extra.json ? JSON.stringify(key) : `Revoked API key ${key.uid} (${key.prefix}) of project ${key.projectId}`);
  return 0;
};

const subcommands: Record<string, Subcommand> = { create, list, revoke };

/** The CLI acts as the master key; audit entries land in the project of the key concerned. */
const cliCaller = (projectId: string | undefined): Caller => ({
  principal: masterPrincipal(projectId ?? 'default'),
  projectId: projectId ?? 'default',
  ipAddress: null,
});

export async function runApiKeys(argv: string[], output: Output = consoleOutput): Promise<number> {
  const args = parseCommandLine(argv, flags);
  const name = args.positionals[0];
  const subcommand = name === undefined ? undefined : subcommands[name];
  if (!subcommand) {
    output.err(name === undefined ? apiKeysUsage : `Unknown api-keys command "${name}".\n${apiKeysUsage}`);
    return 2;
  }
  const env = configFromEnv(process.env);
  const file = await readConfigFile((args.config.config ?? env.config) as string | undefined);
  const config = resolveConfig(file, env, args.config);
  // A mistyped --db must not quietly become a new, empty database; `create --create-db` sets one up.
  if (!(name === 'create' && args.extra['create-db']))
    await requireExistingDatabase(config.db, name === 'create' ? ' (or add --create-db to set up a new one)' : '');
  const store = await openStore(config.db);
  try {
    return await subcommand({ store, clock: systemClock, settings: defaultDomainSettings }, args, output);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    output.err(`prekeyd: ${error.message}`);
    return error.status === 400 ? 2 : 1;
  } finally {
    await store.close();
  }
}
