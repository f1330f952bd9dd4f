/**
 * Signal accounts as prekeyd sees them: the account identifier is the userId, each numbered
 * device has its own key set (`keyFormat: 'signal'`, deviceId stored as the decimal string),
 * and all devices of an account share one identity key, as in Signal.
 */
import type { KeySetRecord, StoreTx } from '../store/types.ts';

export interface SignalAccount {
  identifier: string;
  deviceId: number;
}

/** ACI UUIDs, `PNI:`-prefixed ones, and E.164 numbers such as seed 000's `+16044401234`. */
export const signalIdentifierPattern = /^[A-Za-z0-9._:@+-]{1,128}$/;

/** Signal's device ids are one byte, 1…127 (Signal-Server's `Device.MAXIMUM_DEVICE_ID`). */
export const maxSignalDeviceId = 127;

export function parseDeviceId(text: string): number | undefined {
  if (!/^[0-9]{1,3}$/.test(text)) return undefined;
  const deviceId = Number(text);
  return deviceId >= 1 && deviceId <= maxSignalDeviceId ? deviceId : undefined;
}

/**
 * The user part of Basic auth: `identifier.deviceId`, or a bare identifier for device 1. Only
 * digits after the last dot name a device, so identifiers may contain dots themselves.
 */
export function parseSignalAccount(user: string): SignalAccount | undefined {
  const dot = user.lastIndexOf('.');
  const suffix = dot >= 0 ? user.slice(dot + 1) : '';
  const named = /^[0-9]+$/.test(suffix);
  const identifier = named ? user.slice(0, dot) : user;
  const deviceId = named ? parseDeviceId(suffix) : 1;
  return deviceId !== undefined && signalIdentifierPattern.test(identifier) ? { identifier, deviceId } : undefined;
}

export interface SignalAccountState {
  /** The device's non-revoked key set (possibly a `/v1` one, which `/v2` must not change). */
  device: KeySetRecord | undefined;
  /** The identity key the account's non-revoked Signal key sets share, if any. */
  identityKey: string | undefined;
}

export async function signalAccountState(tx: StoreTx, projectId: string, account: SignalAccount): Promise<SignalAccountState> {
  const live = (await tx.keySets.listForUser(projectId, account.identifier)).filter((keySet) => keySet.status !== 'revoked');
  return {
    device: live.find((keySet) => keySet.deviceId === String(account.deviceId)),
    identityKey: live.find((keySet) => keySet.keyFormat === 'signal')?.identityKey,
  };
}

/** The device's key set when `/v2` may use it: non-revoked and in Signal's format. */
export async function signalDeviceKeySet(tx: StoreTx, projectId: string, account: SignalAccount): Promise<KeySetRecord | undefined> {
  const { device } = await signalAccountState(tx, projectId, account);
  return device?.keyFormat === 'signal' ? device : undefined;
}
