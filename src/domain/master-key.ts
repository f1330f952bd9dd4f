/**
 * The master key (SPEC §1): required and strong in production; in development generated on
 * first start, printed once, and from then on known only by its hash.
 */
import { encodeBase64 } from '../../packages/client/src/core/encoding.ts';
import type { Store } from '../store/types.ts';
import { hashToken } from './authentication.ts';

export class MasterKeyError extends Error {}

const storedHashSetting = 'master_key_hash';

export function generateSecret(prefix: string, bytes = 32): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return prefix + encodeBase64(random).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export interface MasterKeySetup {
  hash: string;
  /**
   * Set only when the key was generated now, and not stored yet: the caller stores it with
   * `storeGeneratedMasterKey` once the server is up and then shows it, so that a start that
   * fails later (a port in use) leaves no stored hash of a key nobody saw.
   */
  generated?: string;
}

export async function setUpMasterKey(store: Store, env: 'development' | 'production', given: string | undefined): Promise<MasterKeySetup> {
  if (env === 'production' && (given === undefined || given.length < 32)) {
    throw new MasterKeyError(
      given === undefined
        ? 'A master key is required in production: set --master-key-file, --master-key or PREKEYD_MASTER_KEY (at least 32 characters; prekeyd master-key new makes one).'
        : 'The master key must be at least 32 characters in production (prekeyd master-key new makes one).',
    );
  }
  if (given !== undefined) {
    if (given.length === 0) throw new MasterKeyError('The master key must not be empty.');
    return { hash: hashToken(given) };
  }
  const stored = await store.transaction((tx) => tx.settings.get(storedHashSetting));
  if (stored) return { hash: stored };
  const generated = generateSecret('pkd_master_');
  return { hash: hashToken(generated), generated };
}

/**
 * Stores the hash of a generated development key. False when another instance on the same
 * PostgreSQL database stored one meanwhile: this instance's key would not be the database's.
 */
export async function storeGeneratedMasterKey(store: Store, hash: string): Promise<boolean> {
  return store.transaction(async (tx) => {
    const stored = await tx.settings.get(storedHashSetting);
    if (stored) return stored === hash;
    await tx.settings.set(storedHashSetting, hash);
    return true;
  });
}
