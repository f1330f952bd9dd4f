/**
 * Retention and quotas: what one key holder can make the server store. Older backup versions and
 * archived signed pre-keys are pruned in the transaction that adds a new one; devices per user,
 * public keys per owner and stored backup bytes per project are capped, and a request over a
 * cap is refused with 403 `QUOTA_EXCEEDED` before anything of it is kept (its transaction rolls
 * back). A limit of 0 means unlimited.
 */
import type { KeySetRecord, StoreTx } from '../store/types.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';

/** Archived signed pre-keys always kept, whatever the setting: a peer may still hold a bundle with one. */
export const minSignedPreKeyHistory = 2;

const quotaExceeded = (message: string, flag: string) => new AppError('QUOTA_EXCEEDED', `${message} (server setting --${flag})`);

/** A new device (key set) for the user: refused past `maxDevicesPerUser` live devices. */
export function requireDeviceRoom(deps: Deps, userId: string, keySets: KeySetRecord[]): void {
  const limit = deps.settings.maxDevicesPerUser;
  const live = keySets.filter((keySet) => keySet.status !== 'revoked').length;
  if (limit > 0 && live >= limit) {
    throw quotaExceeded(`User ${userId} already has ${live} devices, the most allowed; revoke one first`, 'max-devices-per-user');
  }
}

/** A new public key of the owner: refused past `maxPublicKeysPerOwner`. */
export async function requirePublicKeyRoom(deps: Deps, tx: StoreTx, projectId: string, ownerId: string): Promise<void> {
  const limit = deps.settings.maxPublicKeysPerOwner;
  if (limit === 0) return;
  const { total } = await tx.publicKeys.list({ projectId, ownerId, offset: 0, limit: 1 });
  if (total >= limit) throw quotaExceeded(`Owner ${ownerId} already has ${total} public keys, the most allowed; delete one first`, 'max-public-keys-per-owner');
}

/** After a backup was stored: older versions beyond the retention go, then the project's bytes must fit. */
export async function applyBackupRetention(deps: Deps, tx: StoreTx, projectId: string, userId: string): Promise<void> {
  await tx.backups.pruneVersions(projectId, userId, Math.max(1, deps.settings.backupVersionsKept));
  const limit = deps.settings.maxProjectBytes;
  if (limit === 0) return;
  const stored = await tx.backups.storedBytes(projectId);
  if (stored > limit) throw quotaExceeded(`The project's backups would take ${stored} bytes, more than the ${limit} allowed`, 'max-project-bytes');
}

/**
 * Archives the key set's current signed pre-key and drops the oldest archived ones beyond the
 * retention, except those an unexpired session still names: its responder needs that key.
 */
export async function archiveSignedPreKey(deps: Deps, tx: StoreTx, keySet: KeySetRecord, replacedAt: string): Promise<void> {
  await tx.keySets.archiveSignedPreKey(keySet.id, keySet.signedPreKey, keySet.signedPreKeyCreatedAt, replacedAt);
  const keep = Math.max(minSignedPreKeyHistory, deps.settings.signedPreKeyHistoryKept);
  const history = await tx.keySets.signedPreKeyHistory(keySet.id); // oldest first
  if (history.length <= keep) return;
  const inUse = new Set(await tx.sessions.signedPreKeysInUse(keySet.projectId, keySet.userId, keySet.deviceId, replacedAt));
  const expendable = history.slice(0, history.length - keep).filter((old) => !inUse.has(old.keyId));
  if (expendable.length > 0)
    await tx.keySets.deleteArchivedSignedPreKeys(
      keySet.id,
      expendable.map((old) => old.keyId),
    );
}
