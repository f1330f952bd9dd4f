/**
 * Fills a fresh database straight through the storage interface (no HTTP), so that a benchmark
 * can start from 100 or 100,000 key sets in seconds. Public keys are random 32-byte strings
 * (valid X25519 keys with overwhelming probability); one real identity signs every signed pre-key.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openStore } from '../src/store/open-store.ts';

export const identity = (() => {
  const { secretKey, publicKey } = ed25519.keygen();
  const signedPublic = x25519.keygen().publicKey;
  return {
    identityKey: bytesToHex(publicKey),
    signedPreKey: { keyId: 'spk_bench', publicKey: bytesToHex(signedPublic), signature: bytesToHex(ed25519.sign(signedPublic, secretKey)) },
    sign: (publicKeyHex: string) => bytesToHex(ed25519.sign(Buffer.from(publicKeyHex, 'hex'), secretKey)),
  };
})();

export const randomKeyHex = (): string => bytesToHex(crypto.getRandomValues(new Uint8Array(32)));

export interface SeedPlan {
  /** users `${prefix}${i}` with `preKeys` one-time pre-keys each */
  groups: Array<{ prefix: string; count: number; preKeys: number; /** key sets per user, devices `d0`… (default: one, `default`) */ devices?: number }>;
}

export async function seed(db: string, plan: SeedPlan): Promise<void> {
  const store = await openStore(db);
  const now = new Date().toISOString();
  try {
    for (const group of plan.groups) {
      for (let start = 0; start < group.count; start += 500) {
        await store.transaction(async (tx) => {
          for (let i = start; i < Math.min(group.count, start + 500); i++) {
            for (let device = 0; device < (group.devices ?? 1); device++) {
              const keySet = await tx.keySets.insert({
                keyFormat: 'v1',
                projectId: 'default',
                userId: `${group.prefix}${i}`,
                deviceId: group.devices === undefined ? 'default' : `d${device}`,
                deviceName: null,
                registrationId: null,
                identityKey: identity.identityKey,
                signedPreKey: identity.signedPreKey,
                signedPreKeyCreatedAt: now,
                lastResortPreKey: null,
                pqLastResortPreKey: null,
                registeredAt: now,
              });
              const keys = Array.from({ length: group.preKeys }, (_, k) => ({ keyId: `opk_${k}`, publicKey: randomKeyHex() }));
              await tx.oneTimePreKeys.insertMany(keySet.id, 'ec', keys, now);
            }
          }
        });
      }
    }
  } finally {
    await store.close();
  }
}
