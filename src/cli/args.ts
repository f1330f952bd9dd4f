/** Flag parsing for every command, generated from the option table of config.ts. */
import { parseArgs } from 'node:util';
import { type ConfigKey, options } from '../config.ts';

export interface ParsedArgs {
  positionals: string[];
  /** Config settings given as flags, by config key. */
  config: Partial<Record<ConfigKey, unknown>>;
  /** Flags that are not settings (command-specific), by flag name. */
  extra: Record<string, string | boolean | string[] | undefined>;
}

type FlagSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

export function parseCommandLine(argv: string[], extraFlags: Record<string, FlagSpec> = {}): ParsedArgs {
  const spec: Record<string, FlagSpec> = { ...extraFlags };
  for (const info of Object.values(options)) spec[info.flag] = { type: info.boolean ? 'boolean' : 'string' };
  // `--trust-proxy` alone, its old boolean spelling, still works: one proxy in front (true = 1).
  const args = argv.map((arg, index) =>
    arg === '--trust-proxy' && (argv[index + 1] === undefined || argv[index + 1]!.startsWith('-')) ? '--trust-proxy=true' : arg,
  );
  const { values, positionals } = parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  const config: Partial<Record<ConfigKey, unknown>> = {};
  for (const [key, info] of Object.entries(options)) {
    const value = (values as Record<string, unknown>)[info.flag];
    if (value !== undefined) config[key as ConfigKey] = value;
  }
  const extra: ParsedArgs['extra'] = {};
  for (const name of Object.keys(extraFlags)) extra[name] = (values as Record<string, string | boolean | string[] | undefined>)[name];
  return { positionals, config, extra };
}
