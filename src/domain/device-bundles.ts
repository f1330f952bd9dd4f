/**
 * The multi-device claim (`GET /v1/keys/bundles/:userId[?deviceIds=a,b]`): one bundle per active
 * device of the user, or per named device, each consuming one EC and one ML-KEM one-time pre-key
 * (when the device has them), all in one transaction (the takes are one statement per kind on
 * PostgreSQL). A device that cannot be served —
 * suspended, expired, revoked, unknown — is named in `failures` with its status and error
 * instead of failing the whole claim. Guards against Synapse's known failure modes: the number
 * of devices per claim is capped, the drain limit is charged per key, and the device list is
 * read under the same locks as registration and the takes, so a concurrent revoke or new device
 * either precedes the claim or follows it, never half.
 */
import type { VisibleKeySetStatus } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import { takeBundles, v1KeysPerBundle, withPreKeyBudget } from './bundles.ts';
import { leafOf, withTransparency } from './transparency/answers.ts';
import type { Deps } from './deps.ts';
import { currentDeviceListVersion, devicesOf, lockedDeviceList } from './device-lists.ts';
import { AppError, type ErrorCode } from './errors.ts';
import { requireUsable, visibleStatus } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

export interface DeviceFailure {
  errorCode: ErrorCode;
  error: string;
  /** The device's status, when it exists. */
  status?: VisibleKeySetStatus;
}

function tooManyDevices(count: number, cap: number, field: string): AppError {
  return new AppError('VALIDATION_ERROR', `A claim serves at most ${cap} devices (${count} asked for); name up to ${cap} with deviceIds`, [
    { field, message: `at most ${cap} devices per claim` },
  ]);
}

/** Why a device may not be served, in the words (and code) a single-device fetch would use. */
function failureOf(check: () => void, status: VisibleKeySetStatus): DeviceFailure {
  try {
    check();
  } catch (error) {
    if (error instanceof AppError) return { errorCode: error.code, error: error.message, status };
    throw error;
  }
  throw new Error(`device with status ${status} was not refused`);
}

export async function claimDeviceBundles(deps: Deps, caller: Caller, userId: string, deviceIds?: string[]) {
  const cap = deps.settings.maxDevicesPerClaim;
  if (deviceIds && deviceIds.length > cap) throw tooManyDevices(deviceIds.length, cap, 'deviceIds');
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceIds: deviceIds ?? null } } as const;
  // Granted before the transaction (the budget lives outside it); unknown until the devices are
  // read, so an upper bound (an EC and an ML-KEM key per device), and what is not consumed is given back.
  const wanted = (deviceIds?.length ?? cap) * v1KeysPerBundle();
  const { leaves, ...claim } = await withPreKeyBudget(deps, caller, userId, wanted, (newBudget) =>
    audited(deps, caller, failure, () =>
      deps.store.transaction(async (tx) => {
        const now = deps.clock.now();
        const budget = newBudget();
        const keySets = await lockedDeviceList(tx, caller.projectId, userId);
        if (keySets.length === 0) throw new AppError('NOT_FOUND', `No keys registered for user ${userId}`);
        const deviceListVersion = await currentDeviceListVersion(deps, tx, caller.projectId, userId, keySets, now);
        const devices = devicesOf(keySets);
        const failures: Record<string, DeviceFailure> = {};
        const addressed = deviceIds ? deviceIds.map((deviceId) => devices.find((keySet) => keySet.deviceId === deviceId) ?? deviceId) : devices;
        const servable = [];
        for (const device of addressed) {
          if (typeof device === 'string') {
            failures[device] = { errorCode: 'NOT_FOUND', error: `No keys registered for device ${device} of user ${userId}` };
            continue;
          }
          const status = visibleStatus(device, deps.settings, now);
          if (status === 'active') servable.push(device);
          else failures[device.deviceId] = failureOf(() => requireUsable(device, deps.settings, now), status);
        }
        if (servable.length > cap) throw tooManyDevices(servable.length, cap, 'userId');
        if (Object.keys(failures).length > 0) {
          const details = { failures: Object.fromEntries(Object.entries(failures).map(([deviceId, { errorCode }]) => [deviceId, errorCode])) };
          await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId, status: 'FAILURE', details });
        }
        const bundles = await takeBundles(deps, tx, caller, servable, budget, now);
        const leaves = [];
        for (const keySet of servable) leaves.push(await leafOf(deps, tx, keySet, now)); // one at a time: a first fetch may append a leaf
        return { userId, deviceListVersion, devices: bundles, failures, leaves };
      }),
    ),
  );
  const devices = await Promise.all(claim.devices.map((bundle, index) => withTransparency(deps, caller.projectId, bundle, leaves[index])));
  return { ...claim, devices };
}
