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

export interface PendingEvent {
  projectId: string;
  userId: string;
  event: EventName;
  data: Record<string, unknown>;
}

/** Several events in one go (one statement on PostgreSQL), in order. */
export async function emitEvents(tx: StoreTx, events: PendingEvent[], now: Date): Promise<void> {
  if (events.length > 0) await tx.events.appendMany(events.map((event) => ({ ...event, createdAt: now.toISOString() })));
}

/**
 * After a one-time pre-key was consumed: `prekeys.exhausted` when none is left, else
 * `prekeys.low` on every consumption that leaves fewer than the threshold. Signal's Kyber
 * pre-keys (`kind: 'kyber'`, counted apart from EC ones) say so in `data.kind`.
 */
export function preKeyAlert(keySet: KeySetRecord, remaining: number, settings: DomainSettings, kind: PreKeyKind = 'ec'): PendingEvent | undefined {
  const { projectId, userId, deviceId } = keySet;
  const kindField = kind === 'kyber' ? { kind } : {};
  if (remaining === 0) {
    const lastResortAvailable =
      kind === 'kyber' ? keySet.pqLastResortPreKey !== null : keySet.lastResortPreKey !== null || keySet.pqLastResortPreKey !== null;
    return { projectId, userId, event: 'prekeys.exhausted', data: { deviceId, lastResortAvailable, ...kindField } };
  }
  if (remaining < settings.preKeyLowThreshold) {
    return { projectId, userId, event: 'prekeys.low', data: { deviceId, remaining, threshold: settings.preKeyLowThreshold, ...kindField } };
  }
  return undefined;
}

export async function emitPreKeyAlerts(
  tx: StoreTx,
  keySet: KeySetRecord,
  remaining: number,
  settings: DomainSettings,
  now: Date,
  kind: PreKeyKind = 'ec',
): Promise<void> {
  const alert = preKeyAlert(keySet, remaining, settings, kind);
  if (alert) await emitEvent(tx, alert.projectId, alert.userId, alert.event, alert.data, now);
}
