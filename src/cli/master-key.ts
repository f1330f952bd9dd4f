/**
 * `prekeyd master-key new [--out FILE]` makes a production master key, and `--master-key-file`
 * reads one: a key in a file readable by the server alone stays out of the process list, the
 * shell history and `systemctl show` (unlike --master-key or an Environment= line).
 *
 * @example
 * prekeyd master-key new --out /etc/prekeyd/master-key      # mode 0600, never overwritten
 * prekeyd serve --env production --master-key-file /etc/prekeyd/master-key
 */
import { open, readFile, stat } from 'node:fs/promises';
import { type Config, ConfigError } from '../config.ts';
import { generateSecret } from '../domain/master-key.ts';
import { parseCommandLine } from './args.ts';

export const masterKeyUsage = `Usage:
  prekeyd master-key new               print a new random master key (54 characters) once
  prekeyd master-key new --out FILE    write it to FILE instead (mode 0600; an existing FILE is never replaced)

The key is not stored anywhere else: keep it in a secret store or a file only the server can read,
and start the server with --master-key-file FILE (or PREKEYD_MASTER_KEY_FILE). Losing it locks the
master key out; API keys keep working, and a new master key can be set at the next start.`;

export interface MasterKeyOutput {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: MasterKeyOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

export async function runMasterKey(argv: string[], output: MasterKeyOutput = consoleOutput): Promise<number> {
  const { positionals, extra } = parseCommandLine(argv, { out: { type: 'string' } });
  if (positionals[0] !== 'new' || positionals.length > 1) {
    output.err(masterKeyUsage);
    return 2;
  }
  const key = generateSecret('pkd_master_');
  const file = extra.out;
  if (typeof file !== 'string') {
    output.out(key);
    output.err('This master key is shown only this once. Store it now, e.g. in a file readable by the server only, and');
    output.err('start with --master-key-file FILE (or PREKEYD_MASTER_KEY_FILE). `prekeyd master-key new --out FILE` writes such a file.');
    return 0;
  }
  const handle = await open(file, 'wx', 0o600).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new ConfigError(`${file} exists already; it is never replaced (remove it first if you mean to)`);
    throw error;
  });
  try {
    await handle.writeFile(`${key}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  output.err(`Wrote a new master key to ${file} (mode 0600). Start the server with --master-key-file ${file}.`);
  return 0;
}

/** `--master-key-file`: the key is the file's content without the final newline. */
export async function withMasterKeyFromFile(config: Config, warn: (line: string) => void = (line) => console.error(line)): Promise<Config> {
  const path = config.masterKeyFile;
  if (path === undefined) return config;
  if (config.masterKey !== undefined) throw new ConfigError('Give --master-key or --master-key-file, not both.');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--master-key-file: cannot read ${path}: ${(error as Error).message}`);
  }
  const masterKey = text.replace(/\r?\n$/, '');
  if (masterKey.trim() === '') throw new ConfigError(`--master-key-file: ${path} is empty`);
  if (/[\r\n]/.test(masterKey)) throw new ConfigError(`--master-key-file: ${path} must hold the key on one line`);
  const mode = (await stat(path)).mode;
  if ((mode & 0o077) !== 0) warn(`prekeyd: warning: ${path} is readable by other users; chmod 600 ${path}`);
  return { ...config, masterKey };
}
