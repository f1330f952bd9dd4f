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
  'pqprekeys.low',
  'pqprekeys.exhausted',
] as const;

export type EventName = (typeof eventNames)[number];

export async function emitEvent(tx: StoreTx, projectId: string, userId: string, event: EventName, data: Record<string, unknown>, now: Date): Promise<void> {
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
 * After a one-time pre-key was consumed: `*.exhausted` when none is left, else `*.low` on
 * every consumption that leaves fewer than the threshold. `/v1` ML-KEM pre-keys raise
 * `pqprekeys.low` / `pqprekeys.exhausted` (same rules); Signal's Kyber pre-keys (`/v2`) keep
 * raising `prekeys.*` with `data.kind: 'kyber'`, as before.
 */
export function preKeyAlert(keySet: KeySetRecord, remaining: number, settings: DomainSettings, kind: PreKeyKind = 'ec'): PendingEvent | undefined {
  const { projectId, userId, deviceId } = keySet;
  const v1PostQuantum = kind === 'kyber' && keySet.keyFormat === 'v1';
  const kindField = kind === 'kyber' && !v1PostQuantum ? { kind } : {};
  if (remaining === 0) {
    const lastResortAvailable =
      kind === 'kyber'
        ? keySet.pqLastResortPreKey !== null
        : keySet.lastResortPreKey !== null || (keySet.keyFormat === 'signal' && keySet.pqLastResortPreKey !== null);
    const event = v1PostQuantum ? 'pqprekeys.exhausted' : 'prekeys.exhausted';
    return { projectId, userId, event, data: { deviceId, lastResortAvailable, ...kindField } };
  }
  if (remaining < settings.preKeyLowThreshold) {
    const event = v1PostQuantum ? 'pqprekeys.low' : 'prekeys.low';
    return { projectId, userId, event, data: { deviceId, remaining, threshold: settings.preKeyLowThreshold, ...kindField } };
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
