/** Finding the key set a request is about, and the status clients see. */
import { decodeBase64, decodeHex } from '../../packages/client/src/core/encoding.ts';
import { fingerprint } from '../../packages/client/src/core/keys.ts';
import type { KeyFormat, KeySetRecord, StoreTx, VisibleKeySetStatus } from '../store/types.ts';
import type { DomainSettings } from './deps.ts';
import { AppError } from './errors.ts';

export const defaultDeviceId = 'default';

export function visibleStatus(keySet: KeySetRecord, settings: DomainSettings, now: Date): VisibleKeySetStatus {
  if (keySet.status !== 'active' || settings.signedPreKeyMaxAgeMs === 0) return keySet.status;
  const age = now.getTime() - Date.parse(keySet.signedPreKeyCreatedAt);
  return age > settings.signedPreKeyMaxAgeMs ? 'expired' : 'active';
}

/** ISO instant before which a signed pre-key counts as expired, for list filters. */
export function expiryCutoff(settings: DomainSettings, now: Date): string | undefined {
  return settings.signedPreKeyMaxAgeMs === 0 ? undefined : new Date(now.getTime() - settings.signedPreKeyMaxAgeMs).toISOString();
}

/**
 * The key set of a user that a read addresses: the given device, else the newest
 * non-revoked one, else the newest revoked one (so callers can answer 410 rather than 404).
 * With `keyFormat`, key sets of the other API are invisible (a /v1 bundle cannot carry Signal keys).
 */
export async function findKeySetForRead(tx: StoreTx, projectId: string, userId: string, deviceId?: string, keyFormat?: KeyFormat): Promise<KeySetRecord> {
  const all = (await tx.keySets.listForUser(projectId, userId)).filter((keySet) => keyFormat === undefined || keySet.keyFormat === keyFormat);
  const candidates = deviceId === undefined ? all : all.filter((keySet) => keySet.deviceId === deviceId);
  const found = candidates.find((keySet) => keySet.status !== 'revoked') ?? candidates[0];
  if (!found) throw new AppError('NOT_FOUND', `No keys registered for user ${userId}`);
  return found;
}

/**
 * The key set a change by its owner addresses: the given device, else the `default` device,
 * else the user's only non-revoked key set. Several devices and no deviceId is ambiguous.
 */
export async function findKeySetForWrite(tx: StoreTx, projectId: string, userId: string, deviceId?: string, keyFormat?: KeyFormat): Promise<KeySetRecord> {
  const all = (await tx.keySets.listForUser(projectId, userId)).filter((keySet) => keyFormat === undefined || keySet.keyFormat === keyFormat);
  const live = all.filter((keySet) => keySet.status !== 'revoked');
  let found: KeySetRecord | undefined;
  if (deviceId !== undefined) found = live.find((keySet) => keySet.deviceId === deviceId);
  else found = live.find((keySet) => keySet.deviceId === defaultDeviceId) ?? (live.length === 1 ? live[0] : undefined);
  if (found) return found;
  if (deviceId === undefined && live.length > 1) {
    throw new AppError('VALIDATION_ERROR', 'deviceId is required: the user has several devices', [
      { field: 'deviceId', message: 'required when the user has several devices' },
    ]);
  }
  const revoked = all.some((keySet) => deviceId === undefined || keySet.deviceId === deviceId);
  if (revoked) throw new AppError('KEYS_REVOKED', `The keys of user ${userId} are revoked`);
  throw new AppError('NOT_FOUND', `No keys registered for user ${userId}`);
}

/** Bundles are refused for key sets that must not start new sessions. */
export function requireUsable(keySet: KeySetRecord, settings: DomainSettings, now: Date): void {
  switch (visibleStatus(keySet, settings, now)) {
    case 'revoked':
      throw new AppError('KEYS_REVOKED', `The keys of user ${keySet.userId} are revoked`);
    case 'suspended':
      throw new AppError('KEYS_SUSPENDED', `The keys of user ${keySet.userId} are suspended`);
    case 'expired':
      throw new AppError('KEYS_EXPIRED', `The signed pre-key of user ${keySet.userId} has expired; the user must rotate`);
    case 'active':
      return;
  }
}

/** The identity key's fingerprint; `/v2` keys are base64, `/v1` keys hex: it is over the bytes either way. */
export function keySetFingerprint(keySet: Pick<KeySetRecord, 'keyFormat' | 'identityKey'>): string {
  const bytes = keySet.keyFormat === 'v1' ? decodeHex(keySet.identityKey) : decodeBase64(keySet.identityKey);
  return fingerprint(bytes ?? new Uint8Array());
}
