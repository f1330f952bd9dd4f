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
  prekeyd --version                       print the version
  prekeyd --help                          this text

Options (flags win over environment variables):
${flags}
`;
}
