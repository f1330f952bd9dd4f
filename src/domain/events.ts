/**
 * Events for the push channel. They are appended in the transaction of the change that causes
 * them (an outbox); the store hands them to the push hub only once that transaction is durable.
 */
import type { KeySetRecord, PreKeyKind, StoreTx } from '../store/types.ts';
import type { DomainSettings } from './deps.ts';

export const eventNames = [
  'prekeys.low',
  'prekeys.exhausted',
  'keys.registered',
  'keys.rotated',
  'prekeys.replenished',
  'keys.revoked',
  'session.initiated',
  'peer.keys.revoked',
  'devices.changed',
] as const;

export type EventName = (typeof eventNames)[number];

export async function emitEvent(
  tx: StoreTx,
  projectId: string,
  userId: string,
  event: EventName,
  data: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await tx.events.append({ projectId, userId, event, data, createdAt: now.toISOString() });
}

/**
 * After a one-time pre-key was consumed: `prekeys.exhausted` when none is left, else
 * `prekeys.low` on every consumption that leaves fewer than the threshold. Signal's Kyber
 * pre-keys (`kind: 'kyber'`, counted apart from EC ones) say so in `data.kind`.
 */
export async function emitPreKeyAlerts(
  tx: StoreTx,
  keySet: KeySetRecord,
  remaining: number,
  settings: DomainSettings,
  now: Date,
  kind: PreKeyKind = 'ec',
): Promise<void> {
  const deviceId = keySet.deviceId;
  const kindField = kind === 'kyber' ? { kind } : {};
  if (remaining === 0) {
    const lastResortAvailable =
      kind === 'kyber' ? keySet.pqLastResortPreKey !== null : keySet.lastResortPreKey !== null || keySet.pqLastResortPreKey !== null;
    await emitEvent(tx, keySet.projectId, keySet.userId, 'prekeys.exhausted', { deviceId, lastResortAvailable, ...kindField }, now);
  } else if (remaining < settings.preKeyLowThreshold) {
    const data = { deviceId, remaining, threshold: settings.preKeyLowThreshold, ...kindField };
    await emitEvent(tx, keySet.projectId, keySet.userId, 'prekeys.low', data, now);
  }
}
