/** Transparency settings from the configuration (`--transparency-*`). */
import { hostname } from 'node:os';
import { type Config, ConfigError } from '../../config.ts';
import { isValidKeyName } from '../../transparency/note.ts';
import type { TransparencySettings } from './log.ts';

const list = (text: string | undefined): string[] => (text ?? '').split(/[\s,]+/).filter((item) => item.length > 0);

export function transparencySettingsFrom(config: Config): TransparencySettings {
  const template = config.transparencyOrigin ?? `${hostname() || 'localhost'}/prekeyd/{project}`;
  if (!isValidKeyName(template.replaceAll('{project}', 'default'))) {
    throw new ConfigError(`--transparency-origin "${template}" must have no spaces and no "+" (it names the log's key)`);
  }
  return {
    intervalMs: Math.max(config.transparencyInterval, 10),
    originFor: (projectId) => template.replaceAll('{project}', projectId),
    witnesses: list(config.transparencyWitness),
    witnessTimeoutMs: config.transparencyWitnessTimeout,
    publicProjects: list(config.transparencyPublic),
    waitMs: Math.max(10_000, 2 * config.transparencyInterval + config.transparencyWitnessTimeout),
    maxLeavesPerCheckpoint: 4096,
  };
}
