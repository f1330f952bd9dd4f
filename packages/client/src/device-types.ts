/** Wire types of the multi-device routes (`/v1/keys/bundles/:userId`, `/v1/keys/devices/:userId`). */
import type { KeyBundle, KeySetStatus } from './types.ts';

export interface DeviceSummary {
  deviceId: string;
  status: KeySetStatus;
  deviceName: string | null;
  identityKeyFingerprint: string;
  registeredAt: string;
  lastRotatedAt: string | null;
  /** When the signed pre-key expires unless rotated (null: never, or revoked). */
  signedPreKeyExpiresAt: string | null;
  revokedAt: string | null;
  oneTimePreKeysRemaining: number;
  pqOneTimePreKeysRemaining: number;
}

export interface DeviceList {
  userId: string;
  /** Grows with every change of the list: a cached list with the same version is current. */
  deviceListVersion: number;
  devices: DeviceSummary[];
}

/** Why a device was not served: the server's error code and message (and the device's status when it exists). */
export interface DeviceFailure {
  errorCode: string;
  error: string;
  status?: KeySetStatus;
}

export interface DeviceBundles {
  userId: string;
  deviceListVersion: number;
  devices: KeyBundle[];
  failures: Record<string, DeviceFailure>;
}
