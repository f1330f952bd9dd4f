/**
 * A user's /v1 device list and its version. The version grows by one with every change a sender
 * must act on — a device registered, revoked, suspended or unsuspended, a signed pre-key expiring
 * (counted when the server first sees it, on a claim or a list read) or a rotation reviving an
 * expired device — so a sender can cache the list and know when it is stale. Informational
 * fields (pre-keys remaining, lastRotatedAt of a live device) do not move it. Every change is
 * pushed as `devices.changed` to the user and to users holding a session with them.
 * Signal (`/v2`) key sets keep their own model and are not in this list.
 */
import type { KeySetRecord, StoreTx } from '../store/types.ts';
import type { Deps, DomainSettings } from './deps.ts';
import { AppError } from './errors.ts';
import { emitEvents } from './events.ts';
import { keySetFingerprint, visibleStatus } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

export interface DeviceListChange {
  added?: string[];
  removed?: string[];
  /** Devices whose status changed (suspended, unsuspended, expired, revived). */
  changed?: string[];
}

/** The user's /v1 key sets, newest first (as the store lists them). */
export async function v1KeySetsOf(tx: StoreTx, projectId: string, userId: string): Promise<KeySetRecord[]> {
  return (await tx.keySets.listForUser(projectId, userId)).filter((keySet) => keySet.keyFormat === 'v1');
}

/**
 * The user's /v1 key sets, read so that the version read after them matches them: the user's
 * lock first (registration takes it before inserting a device, and on PostgreSQL a row lock
 * cannot hold off an insert), then the key sets locked (revocations and suspensions change them).
 */
export async function lockedDeviceList(tx: StoreTx, projectId: string, userId: string): Promise<KeySetRecord[]> {
  await tx.keySets.lockUser(projectId, userId);
  return v1KeySetsOf(tx, projectId, userId);
}

/** One key set per device id: the live one, else the newest revoked one; ordered by device id. */
export function devicesOf(keySets: KeySetRecord[]): KeySetRecord[] {
  const byDevice = new Map<string, KeySetRecord>();
  for (const keySet of keySets) {
    const seen = byDevice.get(keySet.deviceId);
    if (!seen || (seen.status === 'revoked' && keySet.status !== 'revoked')) byDevice.set(keySet.deviceId, keySet);
  }
  return [...byDevice.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}

/** When the key set's signed pre-key expires (null: never). */
export function signedPreKeyExpiry(keySet: KeySetRecord, settings: DomainSettings): number | null {
  if (settings.signedPreKeyMaxAgeMs === 0) return null;
  return Date.parse(keySet.signedPreKeyCreatedAt) + settings.signedPreKeyMaxAgeMs;
}

/** Live devices whose expiry falls after `seenAt` and by `now`: not yet counted in the version. */
function newlyExpired(keySets: KeySetRecord[], settings: DomainSettings, seenAt: string | null, now: Date): string[] {
  const after = seenAt === null ? Number.NEGATIVE_INFINITY : Date.parse(seenAt);
  return devicesOf(keySets)
    .filter((keySet) => {
      const expiry = signedPreKeyExpiry(keySet, settings);
      return keySet.status === 'active' && expiry !== null && expiry > after && expiry <= now.getTime();
    })
    .map((keySet) => keySet.deviceId);
}

export interface RecordedDeviceListChange {
  version: number;
  /** Emits `devices.changed`: call it after the change's own events, so that those come first. */
  announce(): Promise<void>;
}

/**
 * Records a change of the user's device list: the next version, and (through `announce`)
 * `devices.changed` to the user (every device of theirs that subscribes) and to each user holding
 * an unexpired session with them. `keySets` is the user's key sets as read in this transaction
 * (before the change): expiries not yet counted are folded into this version. Call it before the
 * transaction's audit entries and events: on PostgreSQL it locks the user's version row, and
 * taking that after the project lock (audit, events) could deadlock with another change.
 */
export async function recordDeviceListChange(
  deps: Deps,
  tx: StoreTx,
  projectId: string,
  userId: string,
  keySets: KeySetRecord[],
  change: DeviceListChange,
  now: Date,
): Promise<RecordedDeviceListChange> {
  const state = await tx.deviceLists.get(projectId, userId);
  const version = await tx.deviceLists.bump(projectId, userId, now.toISOString());
  const added = change.added ?? [];
  const removed = change.removed ?? [];
  const named = new Set([...added, ...removed]);
  const expired = newlyExpired(keySets, deps.settings, state?.expiriesSeenAt ?? null, now);
  const changed = [...new Set([...(change.changed ?? []), ...expired])].filter((deviceId) => !named.has(deviceId));
  const data = { userId, deviceListVersion: version, added, removed, changed };
  return {
    version,
    async announce() {
      const recipients = [userId, ...(await tx.sessions.peersOf(projectId, userId, now.toISOString()))];
      await emitEvents(
        tx,
        recipients.map((recipient) => ({ projectId, userId: recipient, event: 'devices.changed' as const, data })),
        now,
      );
    },
  };
}

/** The version a reader is told, counting expiries first seen now (a write only when there are some). */
export async function currentDeviceListVersion(deps: Deps, tx: StoreTx, projectId: string, userId: string, keySets: KeySetRecord[], now: Date) {
  const state = await tx.deviceLists.get(projectId, userId);
  if (newlyExpired(keySets, deps.settings, state?.expiriesSeenAt ?? null, now).length === 0) return state?.version ?? 0;
  const recorded = await recordDeviceListChange(deps, tx, projectId, userId, keySets, {}, now);
  await recorded.announce();
  return recorded.version;
}

function deviceSummary(keySet: KeySetRecord, settings: DomainSettings, now: Date) {
  const expiry = keySet.status === 'revoked' ? null : signedPreKeyExpiry(keySet, settings);
  return {
    deviceId: keySet.deviceId,
    status: visibleStatus(keySet, settings, now),
    deviceName: keySet.deviceName,
    identityKeyFingerprint: keySetFingerprint(keySet),
    registeredAt: keySet.registeredAt,
    lastRotatedAt: keySet.lastRotatedAt,
    signedPreKeyExpiresAt: expiry === null ? null : new Date(expiry).toISOString(),
    revokedAt: keySet.revokedAt,
    oneTimePreKeysRemaining: keySet.oneTimePreKeyCount,
    pqOneTimePreKeysRemaining: keySet.pqOneTimePreKeyCount,
  };
}

/** GET /v1/keys/devices/:userId: every /v1 device of the user with its status, and the list's version. */
export async function listDevices(deps: Deps, caller: Caller, userId: string) {
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    // The key sets first: a change of the list must wait for this transaction, so the version
    // read next is never newer than the list.
    const keySets = await lockedDeviceList(tx, caller.projectId, userId);
    if (keySets.length === 0) throw new AppError('NOT_FOUND', `No keys registered for user ${userId}`);
    const deviceListVersion = await currentDeviceListVersion(deps, tx, caller.projectId, userId, keySets, now);
    return { userId, deviceListVersion, devices: devicesOf(keySets).map((keySet) => deviceSummary(keySet, deps.settings, now)) };
  });
}
