/** `prekeyd config print`: the effective configuration (file, environment, flags), secrets masked. */
import process from 'node:process';
import { configFromEnv, ConfigError, maskSecrets, resolveConfig } from '../config.ts';
import { parseCommandLine } from './args.ts';
import { readConfigFile } from './config-file.ts';

export async function runConfig(argv: string[]): Promise<number> {
  const { positionals, config: flags } = parseCommandLine(argv);
  if (positionals[0] !== 'print') throw new ConfigError('usage: prekeyd config print [options]');
  const env = configFromEnv(process.env);
  const file = await readConfigFile((flags.config ?? env.config) as string | undefined);
  console.log(JSON.stringify(maskSecrets(resolveConfig(file, env, flags)), null, 2));
  return 0;
}
