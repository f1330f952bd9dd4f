/** `prekeyd --help`, generated from the option table so it never drifts from the flags. */
import { options } from '../config.ts';
import { version } from '../version.ts';

export function helpText(): string {
  const flags = Object.values(options)
    .map((info) => `  --${(info.flag + (info.boolean ? '' : ' VALUE')).padEnd(30)} ${info.help}\n  ${''.padEnd(32)} env ${info.env}`)
    .join('\n');
  return `prekeyd ${version}: key distribution for end-to-end encryption

Usage:
  prekeyd serve [options]                 start the server
  prekeyd snapshot --db FILE --out FILE   consistent copy of the embedded database (also while serving)
  prekeyd migrate --from FILE --to postgres://… [--force]
                                          copy an embedded database into PostgreSQL (stop the server first)
  prekeyd config print [options]          the effective configuration, secrets masked
  prekeyd api-keys create --project P --acl ACTION,… [--user-ids PATTERN,…] [--description TEXT]
                   [--expires-at RFC3339|UNIX_SECONDS] [--json] --db FILE
                                          create an API key offline; prints the key once
  prekeyd api-keys list [--project P] [--json] --db FILE
  prekeyd api-keys revoke UID [--json] --db FILE
                                          (api-keys: stop the server first; refused while it holds the database)
  prekeyd witness --name NAME --key-file FILE --state FILE --log VKEY [--log VKEY…] [--host H] [--port P]
                                          a C2SP tlog-witness cosigning the logs of these keys
  prekeyd transparency monitor --log URL --key VKEY --state FILE [--watch USER,…] [--api-key KEY] [--once]
                                          follow a transparency log; exits 1 on a fork or rollback
  prekeyd transparency rotate-key --project P --db FILE
                                          new signing key for a project's log (stop the server first)
  prekeyd --version                       print the version
  prekeyd --help                          this text

Options (flags win over environment variables):
${flags}
`;
}
