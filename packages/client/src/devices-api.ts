/**
 * `client.devices`: a user's devices. List them (with a version to cache by), claim a bundle of
 * each in one call, start a session with every device of a peer, revoke or suspend one device.
 *
 * @example
 * ```ts
 * const { sessions, failures } = await client.devices.establishSessions('alice', 'bob', alice.privateKeys);
 * for (const session of sessions) send(session.responderDeviceId, encrypt(text, session.sharedSecret, session.associatedData));
 * ```
 */
import type { DeviceBundles, DeviceFailure, DeviceList } from './device-types.ts';
import { PrekeydError } from './errors.ts';
import type { Transport } from './http.ts';
import { verifyPqPreKey } from './pqxdh.ts';
import { type EstablishedSession, type EstablishOptions, establishSharedSecret, type IdentityKeyInput } from './sessions.ts';
import type { RevokeResult, SuspensionResult } from './types.ts';
import { verifyBundle } from './x3dh.ts';

export interface DeviceSession extends EstablishedSession {
  responderDeviceId: string;
}

export interface EstablishSessionsOptions extends Pick<EstablishOptions, 'postQuantum' | 'requirePostQuantum'> {
  /** Only these devices (default: every active device of the responder). */
  deviceIds?: string[];
  /** Sessions started at once (default 8). */
  concurrency?: number;
}

export interface EstablishedSessions {
  /** One session per device that could be reached, in device order. */
  sessions: DeviceSession[];
  /** Devices that could not: not active, unknown, or a request that failed (by device id). */
  failures: Record<string, DeviceFailure>;
  /** The version of the device list the sessions were started from. */
  deviceListVersion: number;
}

const userPath = (prefix: string, userId: string) => `${prefix}/${encodeURIComponent(userId)}`;

const failureOf = (error: unknown): DeviceFailure =>
  error instanceof PrekeydError ? { errorCode: error.errorCode, error: error.message } : { errorCode: 'INTERNAL_ERROR', error: String(error) };

/** Runs `task` over `items`, at most `limit` at a time, results in input order. */
async function mapLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class DevicesApi {
  constructor(private readonly transport: Transport) {}

  /** `GET /v1/keys/devices/:userId`: every device with its status, and the list's version. */
  list(userId: string): Promise<DeviceList> {
    return this.transport.request('GET', userPath('/v1/keys/devices', userId));
  }

  /**
   * `GET /v1/keys/bundles/:userId`: a bundle of every active device (or of `deviceIds`) in one
   * call, each consuming a one-time pre-key (and an ML-KEM one). A bundle whose signatures (the
   * ML-KEM key's included) do not verify is moved to `failures` as BUNDLE_SIGNATURE_INVALID,
   * never returned.
   */
  async getBundles(userId: string, options: { deviceIds?: string[] } = {}): Promise<DeviceBundles> {
    const query = options.deviceIds ? { deviceIds: options.deviceIds.join(',') } : {};
    const answer = await this.transport.request<DeviceBundles>('GET', userPath('/v1/keys/bundles', userId), { query });
    const failures = { ...answer.failures };
    const devices = answer.devices.filter((bundle) => {
      try {
        verifyBundle(bundle);
        if (bundle.pqPreKey) verifyPqPreKey(bundle.identityKey, bundle.pqPreKey);
        return true;
      } catch (error) {
        failures[bundle.deviceId] = failureOf(error);
        return false;
      }
    });
    return { ...answer, devices, failures };
  }

  /**
   * PQXDH (X3DH for a device without ML-KEM pre-keys, unless `requirePostQuantum`) with every active device of `responderUserId` (or the given ones): one server-assisted
   * session per device (`/v1/keys/shared-secret` with `responderDeviceId`), so each device learns
   * of its session through `session.initiated` and accepts it with `keys.acceptSharedSecret`.
   * A device that cannot be reached is reported in `failures`; the others still get sessions.
   */
  async establishSessions(
    initiatorUserId: string,
    responderUserId: string,
    initiatorKeys: IdentityKeyInput,
    options: EstablishSessionsOptions = {},
  ): Promise<EstablishedSessions> {
    const list = await this.list(responderUserId);
    const failures: Record<string, DeviceFailure> = {};
    const known = new Map(list.devices.map((device) => [device.deviceId, device]));
    const wanted = options.deviceIds ?? list.devices.map((device) => device.deviceId);
    const targets: string[] = [];
    for (const deviceId of wanted) {
      const device = known.get(deviceId);
      if (!device) failures[deviceId] = { errorCode: 'NOT_FOUND', error: `No device ${deviceId} of user ${responderUserId}` };
      else if (device.status !== 'active') {
        failures[deviceId] = { errorCode: `KEYS_${device.status.toUpperCase()}`, error: `Device ${deviceId} is ${device.status}`, status: device.status };
      } else targets.push(deviceId);
    }
    const outcomes = await mapLimited(targets, options.concurrency ?? 8, async (deviceId) => {
      try {
        const { postQuantum, requirePostQuantum } = options;
        const sessionOptions = { responderDeviceId: deviceId, postQuantum, requirePostQuantum };
        const session = await establishSharedSecret(this.transport, initiatorUserId, responderUserId, initiatorKeys, sessionOptions);
        return { ...session, responderDeviceId: deviceId };
      } catch (error) {
        failures[deviceId] = failureOf(error);
        return undefined;
      }
    });
    return { sessions: outcomes.filter((session) => session !== undefined), failures, deviceListVersion: list.deviceListVersion };
  }

  /** Revokes one device of the user (irreversible); the user's other devices are untouched. */
  revoke(userId: string, deviceId: string, reason?: string): Promise<RevokeResult> {
    return this.transport.request('POST', '/v1/keys/revoke', { body: { userId, deviceId, ...(reason !== undefined && { reason }) } });
  }

  suspend(userId: string, deviceId: string, reason?: string): Promise<SuspensionResult> {
    return this.transport.request('POST', '/v1/keys/suspend', { body: { userId, deviceId, ...(reason !== undefined && { reason }) } });
  }

  unsuspend(userId: string, deviceId: string): Promise<SuspensionResult> {
    return this.transport.request('POST', '/v1/keys/unsuspend', { body: { userId, deviceId } });
  }
}
