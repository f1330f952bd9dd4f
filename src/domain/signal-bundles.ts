/**
 * Signal's bundle fetch (`GET /v2/keys/:identifier/:deviceId`): for each device, one EC and one
 * Kyber one-time pre-key are taken in the same transaction that reads the bundle, so two
 * concurrent fetches never get the same key. With none left, the last-resort keys are served
 * (never consumed). Revoked devices are gone, as deleted devices are in Signal.
 */
import type { KeySetRecord, LastResortKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import { type PreKeyBudget, takePreKey, withPreKeyBudget } from './bundles.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { emitPreKeyAlerts } from './events.ts';
import { requireUsable, visibleStatus } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';

/** A device id, or `*` for every device of the account. */
export type SignalDeviceSelector = number | '*';

/** Keys as Signal's JSON carries them: numeric ids, and a signature only on signed keys. */
const wirePreKey = (key: { keyId: string; publicKey: string }) => ({ keyId: Number(key.keyId), publicKey: key.publicKey });
const wireSignedPreKey = (key: { keyId: string; publicKey: string; signature: string | null }) => ({
  ...wirePreKey(key),
  signature: key.signature ?? '',
});

/** The account's Signal key sets the fetch addresses that may start sessions, by device id. */
async function servableKeySets(deps: Deps, tx: StoreTx, projectId: string, userId: string, selector: SignalDeviceSelector, now: Date) {
  const live = (await tx.keySets.listForUser(projectId, userId)).filter(
    (keySet) => keySet.keyFormat === 'signal' && keySet.status !== 'revoked' && (selector === '*' || keySet.deviceId === String(selector)),
  );
  if (live.length === 0) {
    throw new AppError('NOT_FOUND', selector === '*' ? `No keys for user ${userId}` : `No keys for device ${selector} of user ${userId}`);
  }
  // With `*`, suspended or expired devices are left out; if that leaves none, say why.
  const usable = live.filter((keySet) => visibleStatus(keySet, deps.settings, now) === 'active');
  if (usable.length === 0) requireUsable(live[0]!, deps.settings, now);
  return usable.sort((a, b) => Number(a.deviceId) - Number(b.deviceId));
}

async function takeKyberPreKey(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  keySet: KeySetRecord,
  budget: PreKeyBudget,
  now: Date,
): Promise<LastResortKey | undefined> {
  const taken = budget.available ? await tx.oneTimePreKeys.takeOldest(keySet.id, 'kyber') : undefined;
  if (!taken) return undefined;
  budget.spend();
  deps.observer?.preKeyConsumed('kyber');
  const remaining = await tx.oneTimePreKeys.count(keySet.id, 'kyber');
  const details = { deviceId: keySet.deviceId, keyId: taken.keyId, kind: 'kyber', remaining };
  await appendAudit(tx, caller, now, { action: 'PREKEY_CONSUMED', userId: keySet.userId, details });
  await emitPreKeyAlerts(tx, keySet, remaining, deps.settings, now, 'kyber');
  return taken;
}

async function takeDeviceBundle(deps: Deps, tx: StoreTx, caller: Caller, keySet: KeySetRecord, budget: PreKeyBudget, now: Date) {
  const { oneTimePreKey } = await takePreKey(deps, tx, caller, keySet, budget, now);
  const kyberPreKey = await takeKyberPreKey(deps, tx, caller, keySet, budget, now);
  const preKey = oneTimePreKey ?? keySet.lastResortPreKey;
  const pqPreKey = kyberPreKey ?? keySet.pqLastResortPreKey;
  const details = {
    deviceId: keySet.deviceId,
    oneTimePreKeyId: oneTimePreKey?.keyId ?? null,
    pqPreKeyId: kyberPreKey?.keyId ?? null,
    lastResortServed: oneTimePreKey === null && preKey !== null,
    pqLastResortServed: kyberPreKey === undefined && pqPreKey !== null,
  };
  await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId: keySet.userId, details });
  return {
    deviceId: Number(keySet.deviceId),
    // Signal always has one; a device that never sent it gets 0, which libsignal accepts.
    registrationId: keySet.registrationId ?? 0,
    signedPreKey: wireSignedPreKey(keySet.signedPreKey),
    ...(preKey && { preKey: wirePreKey(preKey) }),
    ...(pqPreKey && { pqPreKey: wireSignedPreKey(pqPreKey) }),
  };
}

/** Signal device ids are 1-127; each device hands out an EC and a Kyber one-time pre-key. */
const maxSignalDevices = 127;

export async function fetchSignalBundles(deps: Deps, caller: Caller, userId: string, selector: SignalDeviceSelector) {
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: String(selector) } } as const;
  const wanted = 2 * (selector === '*' ? maxSignalDevices : 1);
  return withPreKeyBudget(deps, caller, userId, wanted, (newBudget) =>
    audited(deps, caller, failure, () =>
      deps.store.transaction(async (tx) => {
        const now = deps.clock.now();
        const budget = newBudget();
        const keySets = await servableKeySets(deps, tx, caller.projectId, userId, selector, now);
        const devices = [];
        for (const keySet of keySets) devices.push(await takeDeviceBundle(deps, tx, caller, keySet, budget, now));
        // Every device of an account shares its identity key (PUT /v2/keys refuses another one).
        return { identityKey: keySets[0]!.identityKey, devices };
      }),
    ),
  );
}
