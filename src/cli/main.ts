#!/usr/bin/env node
/** The `prekeyd` command: serve, admin commands, --version, --help. */
import process from 'node:process';
import { inspect } from 'node:util';
import { ConfigError } from '../config.ts';
import { MasterKeyError } from '../domain/master-key.ts';
import { DatabaseLockedError } from '../store/sqljs/process-lock.ts';
import { redactCredentials } from '../redact.ts';
import { version } from '../version.ts';
import { helpText } from './help.ts';

type Command = (argv: string[]) => Promise<number>;

// Loaded on use: `serve` should not pay for the PostgreSQL client the migrate command needs.
const commands: Record<string, Command> = {
  serve: async (argv) => (await import('./serve.ts')).runServe(argv),
  'api-keys': async (argv) => (await import('./api-keys.ts')).runApiKeys(argv),
  snapshot: async (argv) => (await import('./snapshot.ts')).runSnapshot(argv),
  config: async (argv) => (await import('./config-command.ts')).runConfig(argv),
  migrate: async (argv) => (await import('./migrate.ts')).runMigrate(argv),
  witness: async (argv) => (await import('./witness.ts')).runWitness(argv),
  transparency: async (argv) => (await import('./transparency.ts')).runTransparency(argv),
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(helpText());
    return first === undefined ? 1 : 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    console.log(version);
    return 0;
  }
  const command = commands[first];
  if (!command) {
    console.error(`Unknown command "${first}". Run prekeyd --help.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpText());
    return 0;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    const expected =
      error instanceof ConfigError ||
      error instanceof MasterKeyError ||
      error instanceof DatabaseLockedError ||
      String((error as { code?: unknown })?.code).startsWith('ERR_PARSE_ARGS');
    // Unexpected errors keep their stack, but a database URL in them loses its password.
    console.error(redactCredentials(expected ? `prekeyd: ${(error as Error).message}` : inspect(error)));
    process.exit(expected ? 2 : 1);
  },
);
