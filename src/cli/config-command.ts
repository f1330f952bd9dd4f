/** `prekeyd config print`: the effective configuration (file, environment, flags), secrets masked, durations with units. */
import process from 'node:process';
import { type Config, configFromEnv, ConfigError, configSchema, maskSecrets, resolveConfig } from '../config.ts';
import { parseCommandLine } from './args.ts';
import { readConfigFile } from './config-file.ts';
import { withMasterKeyFromFile } from './master-key.ts';

const units: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 2592000000 → "30d", 90000 → "90s", 1500 → "1500ms": the largest unit that keeps it exact, as it could be written back. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A setting whose parser reads "1s" as 1000 is a duration (milliseconds inside). */
const isDuration = (key: string): boolean => configSchema.shape[key as keyof Config]?.safeParse('1s').data === 1000;

export function printableConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(maskSecrets(config)).map(([key, value]) => [key, typeof value === 'number' && isDuration(key) ? formatDuration(value) : value]),
  );
}

export async function runConfig(argv: string[]): Promise<number> {
  const { positionals, config: flags } = parseCommandLine(argv);
  if (positionals[0] !== 'print') throw new ConfigError('usage: prekeyd config print [options]');
  const env = configFromEnv(process.env);
  const file = await readConfigFile((flags.config ?? env.config) as string | undefined);
  console.log(JSON.stringify(printableConfig(await withMasterKeyFromFile(resolveConfig(file, env, flags))), null, 2));
  return 0;
}
