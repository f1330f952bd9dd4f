/** `--config FILE`: a JSON object of settings, by their camelCase or flag names. */
import { readFile } from 'node:fs/promises';
import { ConfigError, type ConfigKey, options } from '../config.ts';

const byFlag = new Map(Object.entries(options).map(([key, info]) => [info.flag, key as ConfigKey]));

export async function readConfigFile(path: string | undefined): Promise<Partial<Record<ConfigKey, unknown>>> {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`Config file ${path} must hold a JSON object`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [byFlag.get(name) ?? name, value]));
}
