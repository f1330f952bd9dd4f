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
  // Installed before the start: a SIGTERM right after the "listening" line (or during the start)
  // must stop the server gracefully, not kill it with Node's default action. Kept installed while
  // stopping: Ctrl-C under `npm start` delivers SIGINT twice (to the process group, and relayed by
  // tsx), and the second must not kill a server that is closing its database. The stop is bounded
  // by the grace period anyway.
  const signalled = new Promise<string>((resolve) => {
    let received: string | undefined;
    const onSignal = (signal: string) => {
      if (received) return;
      received = signal;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  const server = await startServer(config, logger, (line) => console.log(line));
  const signal = await signalled;
  logger.info('shutting down', { signal });
  try {
    await server.stop();
    return 0;
  } catch (error) {
    logger.error('shutdown failed', { error: String(error) });
    return 1;
  }
}
