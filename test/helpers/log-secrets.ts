/**
 * Every test app and every spawned server logs at debug/info into memory, and on close the
 * lines are checked for secrets: the master key, full API keys, and anything a test registered
 * as secret (private keys, backup blobs). So "no secret in any log line" holds across the suite.
 */
import { masterKey } from './app.ts';

const apiKeyPattern = /pkd_[0-9A-Za-z]{49}/;
const registered = new Set<string>();

/** Marks a value that must never appear in a log line (e.g. a private key a test generated). */
export function neverLog(secret: string): void {
  if (secret.length >= 16) registered.add(secret);
}

/** Throws naming the first log line that carries a secret. */
export function assertNoSecrets(lines: readonly string[], where: string): void {
  for (const line of lines) {
    const leak = line.includes(masterKey)
      ? 'the master key'
      : apiKeyPattern.test(line)
        ? 'an API key'
        : [...registered].some((secret) => line.includes(secret))
          ? 'a registered secret'
          : undefined;
    if (leak) throw new Error(`${where}: a log line carries ${leak}: ${line.slice(0, 300)}`);
  }
}
