/** `prekeyd serve`: start, announce the address, stop gracefully on SIGTERM/SIGINT. */
import process from 'node:process';
import { configFromEnv, resolveConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { startServer } from '../server.ts';
import { parseCommandLine } from './args.ts';
import { readConfigFile } from './config-file.ts';
import { withMasterKeyFromFile } from './master-key.ts';

export async function runServe(argv: string[]): Promise<number> {
  const { config: flags } = parseCommandLine(argv);
  const env = configFromEnv(process.env);
  const file = await readConfigFile((flags.config ?? env.config) as string | undefined);
  const config = await withMasterKeyFromFile(resolveConfig(file, env, flags));
  const logger = createLogger(config.logLevel);
  // A promise someone forgot to await must not take the whole server down with it: log it loudly.
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason) });
  });
  const server = await startServer(config, logger, (line) => console.log(line));

  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('shutting down', { signal });
      server.stop().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error: String(error) });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
