/**
 * `prekeyd --help` and `prekeyd <command> --help`, in one place (commands are loaded on use, so
 * their help must not need them loaded). The settings part is generated from the option table
 * of config.ts so that it never drifts from the flags.
 */
import { options } from '../config.ts';
import { version } from '../version.ts';

const settingFlags = (): string =>
  Object.values(options)
    .map((info) => `  --${(info.flag + (info.boolean ? '' : ' VALUE')).padEnd(30)} ${info.help}\n  ${''.padEnd(32)} env ${info.env}`)
    .join('\n');

/** One usage line per command, as in the overview. */
const synopsis: Record<string, string> = {
  serve: 'prekeyd serve [options]                 start the server',
  snapshot: 'prekeyd snapshot --db FILE --out FILE   consistent copy of the embedded database (also while serving)',
  migrate:
    'prekeyd migrate --from FILE --to postgres://… [--force]\n' +
    '                                        copy an embedded database into PostgreSQL (stop the server first)',
  config: 'prekeyd config print [options]          the effective configuration, secrets masked',
  'api-keys': 'prekeyd api-keys create|list|revoke …   manage API keys offline (stop the server first)',
  'master-key': 'prekeyd master-key new [--out FILE]     a new random master key for production',
  completion: 'prekeyd completion bash|zsh|fish       shell completion script',
  witness:
    'prekeyd witness --name NAME --key-file FILE --state FILE --log VKEY [--log VKEY…] [--host H] [--port P]\n' +
    '                                        a C2SP tlog-witness cosigning the logs of these keys',
  transparency:
    'prekeyd transparency monitor|rotate-key …\n' +
    '                                        follow a transparency log (exits 1 on a fork or rollback); new log signing key',
};

export const commandNames = Object.keys(synopsis);

export const apiKeysUsage = `Usage (stop the server first: a database held by a running server is refused;
the database must exist unless create --create-db: a mistyped --db is not created):
  prekeyd api-keys create --project P --acl ACTION,… [--user-ids PATTERN,…] [--description TEXT]
                          [--expires-at RFC3339|UNIX_SECONDS] [--json] [--create-db] --db FILE
  prekeyd api-keys list [--project P] [--json] --db FILE
  prekeyd api-keys revoke UID [--json] --db FILE`;

export const migrateUsage = 'Usage: prekeyd migrate --from FILE --to postgres://USER@HOST/DB [--force]  (stop the server first)';

const commandHelp: Record<string, () => string> = {
  serve: () => `Usage: prekeyd serve [options]

Starts the server. It prints "prekeyd ${version} listening on http://HOST:PORT" when ready,
stops gracefully on SIGTERM/SIGINT, and answers GET /healthz, /readyz, /docs and /openapi.json
without auth. Flags win over environment variables, which win over --config FILE.

Options:
${settingFlags()}`,
  snapshot: () => `Usage: prekeyd snapshot --db FILE --out FILE

A consistent copy of the embedded database, also while a server runs on it (PostgreSQL: use
pg_dump). Start a server with --db pointing at the copy to restore it. Shows progress when
stderr is a terminal.`,
  migrate: () => `${migrateUsage}

Copies every table of an embedded database into PostgreSQL, then checks row counts and each
project's audit chain against the source. A target holding prekeyd data is refused unless
--force (which replaces it). Shows progress when stderr is a terminal.`,
  config: () => `Usage: prekeyd config print [options]

Prints the effective configuration (defaults, --config file, environment, flags) as JSON, with
secrets masked and durations with their unit. Takes the same options as serve.`,
  'api-keys': () => apiKeysUsage,
  'master-key': () => `Usage: prekeyd master-key new [--out FILE]

Prints a new random master key once (or writes it to FILE with mode 0600, never replacing an
existing file). Start the server with --master-key-file FILE or PREKEYD_MASTER_KEY_FILE.`,
  completion: () => `Usage: prekeyd completion bash|zsh|fish

Prints a completion script for commands and flags. For example:
  prekeyd completion bash > /etc/bash_completion.d/prekeyd
  prekeyd completion zsh > "\${fpath[1]}/_prekeyd"
  prekeyd completion fish > ~/.config/fish/completions/prekeyd.fish`,
};

export function helpFor(command: string): string | undefined {
  return commandHelp[command]?.();
}

export function helpText(): string {
  return `prekeyd ${version}: key distribution for end-to-end encryption

Usage:
${Object.values(synopsis)
  .map((line) => `  ${line.replace(/\n/g, '\n  ')}`)
  .join('\n')}
  prekeyd --version                       print the version
  prekeyd <command> --help                options of one command

Options of serve (flags win over environment variables):
${settingFlags()}
`;
}
