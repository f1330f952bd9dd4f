/**
 * Fills a fresh database straight through the storage interface (no HTTP), so that a benchmark
 * can start from 100 or 100,000 key sets in seconds. Public keys are random 32-byte strings
 * (valid X25519 keys with overwhelming probability); one real identity signs every signed pre-key.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { openStore } from '../src/store/open-store.ts';

export const identity = (() => {
  const { secretKey, publicKey } = ed25519.keygen();
  const signedPublic = x25519.keygen().publicKey;
  return {
    identityKey: bytesToHex(publicKey),
    signedPreKey: { keyId: 'spk_bench', publicKey: bytesToHex(signedPublic), signature: bytesToHex(ed25519.sign(signedPublic, secretKey)) },
    sign: (publicKeyHex: string) => bytesToHex(ed25519.sign(Buffer.from(publicKeyHex, 'hex'), secretKey)),
    /** An ML-KEM-1024 pre-key signed over 0x0A ‖ key, as /v1 wants it. */
    pqPreKey: (keyId: string) => {
      const { publicKey: ek } = ml_kem1024.keygen();
      return { keyId, publicKey: bytesToHex(ek), signature: bytesToHex(ed25519.sign(Uint8Array.of(0x0a, ...ek), secretKey)) };
    },
  };
})();

/** A few distinct signed ML-KEM keys, reused under different key ids (the server checks keys only on upload). */
const pqPool = Array.from({ length: 8 }, (_, i) => identity.pqPreKey(`pool_${i}`));

export const randomKeyHex = (): string => bytesToHex(crypto.getRandomValues(new Uint8Array(32)));

export interface SeedPlan {
  /** users `${prefix}${i}` with `preKeys` one-time pre-keys each */
  groups: Array<{
    prefix: string;
    count: number;
    preKeys: number;
    /** ML-KEM one-time pre-keys per key set (and a last-resort one when any) */
    pqPreKeys?: number;
    /** key sets per user, devices `d0`… (default: one, `default`) */
    devices?: number;
  }>;
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
                pqLastResortPreKey: group.pqPreKeys ? { ...pqPool[0]!, keyId: 'pqlr_bench' } : null,
                registeredAt: now,
              });
              const keys = Array.from({ length: group.preKeys }, (_, k) => ({ keyId: `opk_${k}`, publicKey: randomKeyHex() }));
              await tx.oneTimePreKeys.insertMany(keySet.id, 'ec', keys, now);
              const pqKeys = Array.from({ length: group.pqPreKeys ?? 0 }, (_, k) => ({ ...pqPool[k % pqPool.length]!, keyId: `pqk_${k}` }));
              if (pqKeys.length > 0) await tx.oneTimePreKeys.insertMany(keySet.id, 'kyber', pqKeys, now);
            }
          }
        });
      }
    }
  } finally {
    await store.close();
  }
}
