/** The dependencies every domain operation receives: explicit, so tests can swap any of them. */
import type { PreKeyKind, Store } from '../store/types.ts';
import type { TransparencyLog } from './transparency/log.ts';

export interface DomainSettings {
  /** `prekeys.low` is raised while fewer one-time pre-keys than this are stored. */
  preKeyLowThreshold: number;
  /** A signed pre-key older than this makes the key set `expired`; 0 = never. */
  signedPreKeyMaxAgeMs: number;
  /** One-time pre-keys one API key may consume of one user a minute; 0 = unlimited. */
  drainLimitPerMinute: number;
  /** Devices one multi-device bundle claim may serve (GET /v1/keys/bundles/:userId). */
  maxDevicesPerClaim: number;
  maxPreKeysPerCall: number;
  maxStoredPreKeys: number;
  sessionTtlMs: number;
  maxBackupBytes: number;
  allowServerKeygen: boolean;
  /** Backup versions kept per user; older ones are pruned when a new one is stored (at least 1). */
  backupVersionsKept: number;
  /** Live (non-revoked) devices per user; 0 = unlimited. */
  maxDevicesPerUser: number;
  /** Public keys per owner in the directory; 0 = unlimited. */
  maxPublicKeysPerOwner: number;
  /** Archived signed pre-keys kept per key set (at least 2; keys of unexpired sessions are kept too). */
  signedPreKeyHistoryKept: number;
  /** Decoded backup bytes per project; 0 = unlimited. */
  maxProjectBytes: number;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** What the domain reports as it happens (metrics in the server, absent in most tests). */
export interface DomainObserver {
  preKeyConsumed(kind: PreKeyKind): void;
}

export interface Deps {
  store: Store;
  settings: DomainSettings;
  clock: Clock;
  observer?: DomainObserver;
  /** The key-transparency logs; absent while transparency is off. */
  transparency?: TransparencyLog;
}

export const defaultDomainSettings: DomainSettings = {
  preKeyLowThreshold: 5,
  signedPreKeyMaxAgeMs: 30 * 24 * 3600 * 1000,
  drainLimitPerMinute: 30,
  maxDevicesPerClaim: 100,
  maxPreKeysPerCall: 100,
  maxStoredPreKeys: 1000,
  sessionTtlMs: 24 * 3600 * 1000,
  maxBackupBytes: 512 * 1024,
  allowServerKeygen: false,
  backupVersionsKept: 10,
  maxDevicesPerUser: 20,
  maxPublicKeysPerOwner: 100,
  signedPreKeyHistoryKept: 10,
  maxProjectBytes: 1024 * 1024 * 1024,
};
