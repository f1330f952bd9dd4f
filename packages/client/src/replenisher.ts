/**
 * `autoReplenish`: on `prekeys.low` / `prekeys.exhausted` for one of the app's devices, make
 * fresh one-time pre-keys, hand their secrets to the app's store, then upload them; on
 * `pqprekeys.low` / `pqprekeys.exhausted` the same with ML-KEM-1024 pre-keys (signed, so they
 * need the device's identity key: `identityKey`). Events are handled one at a time, and the
 * server's current count is checked first, so a burst of alerts (one per consumed key) leads to
 * one upload, not one per alert.
 */
import { PrekeydError } from './errors.ts';
import type { KeysApi } from './keys-api.ts';
import { maxPreKeysPerCall } from './keygen.ts';
import type { PrekeydEvent, RotateResult } from './types.ts';

export interface AutoReplenishOptions {
  /** Top the device up to this many stored one-time pre-keys (default 20, at most 100 per upload). */
  target?: number;
  /** Only replenish these devices (default: every device the alerts name). */
  deviceIds?: string[];
  /**
   * Persist the new secrets. Called BEFORE the upload; if it throws, nothing is uploaded. Merge
   * `oneTimePreKeys` into the device's stored private keys.
   */
  store: (update: {
    userId: string;
    deviceId: string;
    oneTimePreKeys: Record<string, string>;
    pqOneTimePreKeys?: Record<string, string>;
  }) => void | Promise<void>;
  /**
   * The device's Ed25519 identity private key (hex), to sign new ML-KEM pre-keys. Without it
   * `pqprekeys.*` alerts are not answered.
   */
  identityKey?: (device: { userId: string; deviceId: string }) => string | Promise<string>;
  onReplenished?: (info: { userId: string; deviceId: string; result: RotateResult }) => void;
}

/** SPEC §4's default `prekeys.low` threshold, until an alert tells us the server's. */
const defaultLowThreshold = 5;

export function createReplenisher(keys: KeysApi, options: AutoReplenishOptions) {
  const target = options.target ?? 20;
  if (!Number.isInteger(target) || target < 1 || target > maxPreKeysPerCall) {
    throw new PrekeydError('INVALID_ARGUMENT', `autoReplenish.target must be an integer from 1 to ${maxPreKeysPerCall}`);
  }
  if (typeof options.store !== 'function') {
    throw new PrekeydError('INVALID_ARGUMENT', 'autoReplenish.store is required: the new private keys must be kept somewhere');
  }
  let lowThreshold = defaultLowThreshold;

  /** The stored count of one kind now, from the server; the alert's own figure if this key may not read it. */
  async function currentCount(userId: string, deviceId: string, reported: number, postQuantum: boolean): Promise<number> {
    try {
      const status = await keys.verify(userId, { deviceId });
      return postQuantum ? status.pqOneTimePreKeysRemaining : status.oneTimePreKeysRemaining;
    } catch (error) {
      if (error instanceof PrekeydError && error.errorCode === 'FORBIDDEN') return reported;
      throw error;
    }
  }

  const alerts = new Set(['prekeys.low', 'prekeys.exhausted', 'pqprekeys.low', 'pqprekeys.exhausted']);

  return async function onEvent(event: PrekeydEvent): Promise<void> {
    if (!alerts.has(event.event)) return;
    const data = event.data as { deviceId?: string; remaining?: number; threshold?: number; kind?: string };
    // Kyber pre-keys with `kind` belong to Signal clients on /v2; this SDK's PQ keys raise pqprekeys.*.
    if (data.kind === 'kyber') return;
    const postQuantum = event.event.startsWith('pq');
    if (postQuantum && !options.identityKey) return;
    const deviceId = data.deviceId ?? 'default';
    if (options.deviceIds && !options.deviceIds.includes(deviceId)) return;
    if (event.event.endsWith('.low') && Number.isInteger(data.threshold)) lowThreshold = data.threshold!;

    const reported = event.event.endsWith('.low') ? (data.remaining ?? 0) : 0;
    const remaining = await currentCount(event.userId, deviceId, reported, postQuantum);
    // An alert that predates an upload we already made: the device is stocked again.
    if (remaining >= lowThreshold) return;
    const count = Math.min(maxPreKeysPerCall, target - remaining);
    if (count <= 0) return;
    if (postQuantum) {
      const identityKey = await options.identityKey!({ userId: event.userId, deviceId });
      const { result } = await keys.replenishPq(event.userId, count, identityKey, {
        deviceId,
        store: (pqOneTimePreKeys) => options.store({ userId: event.userId, deviceId, oneTimePreKeys: {}, pqOneTimePreKeys }),
      });
      options.onReplenished?.({ userId: event.userId, deviceId, result });
      return;
    }
    const { result } = await keys.replenish(event.userId, count, {
      deviceId,
      store: (oneTimePreKeys) => options.store({ userId: event.userId, deviceId, oneTimePreKeys }),
    });
    options.onReplenished?.({ userId: event.userId, deviceId, result });
  };
}
