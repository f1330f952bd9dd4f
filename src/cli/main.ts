#!/usr/bin/env node
/** The `prekeyd` command: serve, admin commands, --version, --help. */
import process from 'node:process';
import { inspect } from 'node:util';
import { redactCredentials } from '../redact.ts';
import { failureMessage, oneLine } from './failure-message.ts';
import { commandNames, helpFor, helpText } from './help.ts';
import { didYouMean } from './suggest.ts';
import { version } from '../version.ts';

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
  'master-key': async (argv) => (await import('./master-key.ts')).runMasterKey(argv),
  completion: async (argv) => (await import('./completion.ts')).runCompletion(argv),
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    console.log((topic !== undefined && helpFor(topic)) || helpText());
    return first === undefined ? 1 : 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    console.log(version);
    return 0;
  }
  const command = commands[first];
  if (!command) {
    console.error(`prekeyd: unknown command "${first}".${didYouMean(first, commandNames)} Run prekeyd --help.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpFor(first) ?? helpText());
    return 0;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    const message = failureMessage(error);
    if (message === undefined) {
      // Not a failure the user can fix: a bug, with its stack (a database URL in it loses its password).
      console.error(redactCredentials(inspect(error)));
      process.exit(1);
    }
    console.error(redactCredentials(`prekeyd: ${oneLine(message)}`));
    process.exit(2);
  },
);
