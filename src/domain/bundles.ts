/**
 * Handing out pre-key bundles. The oldest one-time pre-key is taken in the same transaction
 * that reads the bundle, so two concurrent fetches never receive the same key; a `/v1` key set
 * with ML-KEM pre-keys hands out one of those in the same transaction too (else its
 * last-resort ML-KEM key). `takeBundles` builds the /v1 bundle of one key set or of many (a
 * multi-device claim) the same way; shared-secret sessions take their keys with `takeV1PreKeys`.
 */
import type { KeySetRecord, PreKey, PreKeyKind, SignedKey, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { emitEvents, type PendingEvent, preKeyAlert } from './events.ts';
import { findKeySetForRead, requireUsable } from './key-set-lookup.ts';
import type { Caller } from './principal.ts';
import { leafOf, withTransparency } from './transparency/answers.ts';

export const reducedForwardSecrecyWarning =
  'No one-time pre-keys available: forward secrecy is reduced for this session. The user should replenish one-time pre-keys.';

export const reducedPostQuantumWarning =
  'No one-time post-quantum pre-keys available: the last-resort ML-KEM pre-key was handed out. The user should replenish pqOneTimePreKeys.';

const drainWindowMs = 60_000;
const drainCounter = (caller: Caller, targetUserId: string) => `drain:${caller.projectId}:${caller.principal.actor}:${targetUserId}`;

/**
 * How many of `count` one-time pre-keys of this user the caller may consume now. One API key may
 * take at most `drainLimitPerMinute` keys of one user a minute so that it cannot drain them; every
 * key consumed counts, of either kind (a `/v1` bundle takes an EC and an ML-KEM key, a `/v2` fetch
 * of every device an EC and a Kyber key from each). The granted keys are charged up front; give
 * back what the request did not consume with `returnUnusedPreKeys` (or use `withPreKeyBudget`).
 */
export async function mayConsumePreKey(deps: Deps, caller: Caller, targetUserId: string, count = 1): Promise<number> {
  const limit = deps.settings.drainLimitPerMinute;
  if (limit === 0 || caller.principal.kind === 'master') return count;
  const asked = Math.min(count, limit); // never charge more than could be granted
  if (asked <= 0) return 0;
  const { count: charged } = await deps.store.counters.hit(drainCounter(caller, targetUserId), drainWindowMs, deps.clock.now().getTime(), asked);
  const granted = Math.max(0, Math.min(asked, limit - (charged - asked)));
  // Refused keys are not consumed: only the granted ones stay charged.
  if (granted < asked) await returnUnusedPreKeys(deps, caller, targetUserId, asked - granted);
  return granted;
}

/** Gives back granted keys a request did not consume (none left, a failed transaction). */
export async function returnUnusedPreKeys(deps: Deps, caller: Caller, targetUserId: string, unused: number): Promise<void> {
  if (unused <= 0 || deps.settings.drainLimitPerMinute === 0 || caller.principal.kind === 'master') return;
  await deps.store.counters.hit(drainCounter(caller, targetUserId), drainWindowMs, deps.clock.now().getTime(), -unused);
}

/** The one-time pre-keys one request may still consume; a transaction body makes a fresh one per attempt. */
export class PreKeyBudget {
  consumed = 0;
  constructor(readonly granted: number) {}

  /** Whether one more key may be taken; call `spend` once it was. */
  get available(): boolean {
    return this.consumed < this.granted;
  }

  /** How many more keys may be taken. */
  get remaining(): number {
    return this.granted - this.consumed;
  }

  spend(keys = 1): void {
    this.consumed += keys;
  }
}

/**
 * Runs `operation` with up to `count` keys granted by the drain limit; keys it did not consume are
 * given back, whether it succeeded or failed. `operation` may run its body several times (retried
 * transactions): the budget it uses is the one of its last attempt.
 */
export async function withPreKeyBudget<T>(
  deps: Deps,
  caller: Caller,
  targetUserId: string,
  count: number,
  operation: (newBudget: () => PreKeyBudget) => Promise<T>,
): Promise<T> {
  const granted = await mayConsumePreKey(deps, caller, targetUserId, count);
  let budget: PreKeyBudget | undefined;
  const newBudget = () => (budget = new PreKeyBudget(granted));
  let succeeded = false;
  try {
    const result = await operation(newBudget);
    succeeded = true;
    return result;
  } finally {
    await returnUnusedPreKeys(deps, caller, targetUserId, granted - (succeeded ? (budget?.consumed ?? 0) : 0));
  }
}

/** One-time pre-keys a `/v1` bundle may consume: an EC key, and an ML-KEM key unless `postQuantum` is false. */
export const v1KeysPerBundle = (postQuantum = true): number => (postQuantum ? 2 : 1);

export interface TakenPreKey {
  oneTimePreKey: PreKey | null;
  remaining: number;
}

type StoredPreKey = PreKey & { signature: string | null };

/**
 * One one-time pre-key of `kind` from each key set (one statement for many), recorded: audit and
 * alerts. Several keys taken together are one audit entry listing them (`details.keys`): a claim
 * for a hundred devices writes one entry per kind, not a hundred (the audit chain is the claim's
 * main cost).
 */
async function takeOneOfEach(deps: Deps, tx: StoreTx, caller: Caller, keySets: KeySetRecord[], kind: PreKeyKind, now: Date) {
  const taken = new Map<number, { key: StoredPreKey; remaining: number }>();
  if (keySets.length === 0) return taken;
  let keys: Map<number, StoredPreKey>;
  if (keySets.length === 1) {
    const key = await tx.oneTimePreKeys.takeOldest(keySets[0]!.id, kind);
    keys = new Map(key ? [[keySets[0]!.id, key]] : []);
  } else {
    keys = await tx.oneTimePreKeys.takeOldestOfEach(
      keySets.map((keySet) => keySet.id),
      kind,
    );
  }
  const consumed: Array<{ deviceId: string; keyId: string; remaining: number }> = [];
  const alerts: PendingEvent[] = [];
  for (const keySet of keySets) {
    const key = keys.get(keySet.id);
    if (!key) continue;
    const remaining = (kind === 'ec' ? keySet.oneTimePreKeyCount : keySet.pqOneTimePreKeyCount) - 1;
    taken.set(keySet.id, { key, remaining });
    deps.observer?.preKeyConsumed(kind);
    consumed.push({ deviceId: keySet.deviceId, keyId: key.keyId, remaining });
    const alert = preKeyAlert(keySet, remaining, deps.settings, kind);
    if (alert) alerts.push(alert);
  }
  await emitEvents(tx, alerts, now);
  if (consumed.length > 0) {
    const kindField = kind === 'kyber' ? { kind } : {};
    const details = keySets.length === 1 ? { ...consumed[0]!, ...kindField } : { ...kindField, keys: consumed };
    await appendAudit(tx, caller, now, { action: 'PREKEY_CONSUMED', userId: keySets[0]!.userId, details });
  }
  return taken;
}

/** Takes one EC one-time pre-key (if the budget allows) and records it: audit and alerts. */
export async function takePreKey(deps: Deps, tx: StoreTx, caller: Caller, keySet: KeySetRecord, budget: PreKeyBudget, now: Date): Promise<TakenPreKey> {
  if (!budget.available) return { oneTimePreKey: null, remaining: keySet.oneTimePreKeyCount };
  const taken = (await takeOneOfEach(deps, tx, caller, [keySet], 'ec', now)).get(keySet.id);
  if (!taken) return { oneTimePreKey: null, remaining: keySet.oneTimePreKeyCount };
  budget.spend();
  return { oneTimePreKey: { keyId: taken.key.keyId, publicKey: taken.key.publicKey }, remaining: taken.remaining };
}

/** A `/v1` bundle's ML-KEM pre-key: a one-time one, or the last-resort one (never consumed). */
export interface BundlePqPreKey extends SignedKey {
  lastResort: boolean;
}

export interface TakenV1PreKeys extends TakenPreKey {
  /** Null when the key set has no ML-KEM pre-key to hand out (or `postQuantum` was false). */
  pqPreKey: BundlePqPreKey | null;
  remainingPq: number;
}

/**
 * The one-time pre-keys of `/v1` key sets for their bundles, in the caller's transaction: per key
 * set in order, an EC key, then (with `postQuantum`) an ML-KEM key, as far as the budget goes; each
 * key consumed is charged to it. One statement per kind for any number of key sets. A key set with
 * no ML-KEM one-time key left hands out its last-resort one.
 */
export async function takeV1PreKeys(
  deps: Deps,
  tx: StoreTx,
  caller: Caller,
  keySets: KeySetRecord[],
  budget: PreKeyBudget,
  now: Date,
  postQuantum = true,
): Promise<TakenV1PreKeys[]> {
  // The key sets were read (and on PostgreSQL locked) in this transaction: their counts are current.
  const ecWanted: KeySetRecord[] = [];
  const pqWanted: KeySetRecord[] = [];
  let slots = Math.max(0, budget.remaining);
  for (const keySet of keySets) {
    if (slots > 0 && keySet.oneTimePreKeyCount > 0) {
      ecWanted.push(keySet);
      slots -= 1;
    }
    if (postQuantum && slots > 0 && keySet.pqOneTimePreKeyCount > 0) {
      pqWanted.push(keySet);
      slots -= 1;
    }
  }
  const ec = await takeOneOfEach(deps, tx, caller, ecWanted, 'ec', now);
  const pq = await takeOneOfEach(deps, tx, caller, pqWanted, 'kyber', now);
  budget.spend(ec.size + pq.size);
  return keySets.map((keySet) => {
    const ecTaken = ec.get(keySet.id);
    const pqTaken = pq.get(keySet.id);
    const lastResort = postQuantum ? keySet.pqLastResortPreKey : null;
    const pqPreKey: BundlePqPreKey | null = pqTaken
      ? { keyId: pqTaken.key.keyId, publicKey: pqTaken.key.publicKey, signature: pqTaken.key.signature ?? '', lastResort: false }
      : lastResort && { keyId: lastResort.keyId, publicKey: lastResort.publicKey, signature: lastResort.signature ?? '', lastResort: true };
    return {
      oneTimePreKey: ecTaken ? { keyId: ecTaken.key.keyId, publicKey: ecTaken.key.publicKey } : null,
      remaining: ecTaken?.remaining ?? keySet.oneTimePreKeyCount,
      pqPreKey,
      remainingPq: pqTaken?.remaining ?? keySet.pqOneTimePreKeyCount,
    };
  });
}

/** The keys of a `/v1` bundle after a take: what bundles, multi-device claims and shared-secret sessions hand out. */
export function v1BundleKeys(keySet: KeySetRecord, taken: TakenV1PreKeys) {
  const { oneTimePreKey, pqPreKey } = taken;
  const warning = oneTimePreKey === null ? reducedForwardSecrecyWarning : pqPreKey?.lastResort ? reducedPostQuantumWarning : undefined;
  return {
    identityKey: keySet.identityKey,
    signedPreKey: keySet.signedPreKey,
    oneTimePreKey,
    ...(oneTimePreKey === null && keySet.lastResortPreKey && { lastResortPreKey: keySet.lastResortPreKey as SignedKey }),
    pqPreKey,
    ...(warning !== undefined && { warning }),
  };
}

/** What a `BUNDLE_FETCHED` entry says of one device's bundle. */
export function fetchedDetails(keySet: KeySetRecord, taken: TakenV1PreKeys) {
  return {
    deviceId: keySet.deviceId,
    oneTimePreKeyId: taken.oneTimePreKey?.keyId ?? null,
    ...(taken.pqPreKey && { pqPreKeyId: taken.pqPreKey.keyId, pqLastResortServed: taken.pqPreKey.lastResort }),
  };
}

/**
 * The /v1 bundles of usable key sets of one user, in order: as far as the budget allows, each
 * consumes an EC and an ML-KEM one-time pre-key (the rest are past the drain limit). Audited as
 * fetched: one entry per call, listing the devices (`details.devices`) when there are several.
 */
export async function takeBundles(deps: Deps, tx: StoreTx, caller: Caller, keySets: KeySetRecord[], budget: PreKeyBudget, now: Date) {
  const taken = await takeV1PreKeys(deps, tx, caller, keySets, budget, now);
  const bundles = [];
  const fetched = [];
  for (const [index, keySet] of keySets.entries()) {
    const keys = taken[index]!;
    fetched.push(fetchedDetails(keySet, keys));
    const { warning, ...bundleKeys } = v1BundleKeys(keySet, keys);
    bundles.push({
      userId: keySet.userId,
      deviceId: keySet.deviceId,
      ...bundleKeys,
      remainingOneTimePreKeys: keys.remaining,
      remainingPqOneTimePreKeys: keys.remainingPq,
      ...(warning !== undefined && { warning }),
    });
  }
  if (fetched.length > 0) {
    const details = fetched.length === 1 ? fetched[0]! : { devices: fetched };
    await appendAudit(tx, caller, now, { action: 'BUNDLE_FETCHED', userId: keySets[0]!.userId, details });
  }
  return bundles;
}

export type V1Bundle = Awaited<ReturnType<typeof takeBundles>>[number];

export async function fetchBundle(deps: Deps, caller: Caller, userId: string, deviceId?: string) {
  const failure = { action: 'BUNDLE_FETCHED', userId, details: { deviceId: deviceId ?? null } } as const;
  const { bundle, leaf } = await withPreKeyBudget(deps, caller, userId, v1KeysPerBundle(), (newBudget) =>
    audited(deps, caller, failure, () =>
      deps.store.transaction(async (tx) => {
        const now = deps.clock.now();
        const budget = newBudget();
        const keySet = await findKeySetForRead(tx, caller.projectId, userId, deviceId, 'v1');
        requireUsable(keySet, deps.settings, now);
        const [bundle] = await takeBundles(deps, tx, caller, [keySet], budget, now);
        return { bundle: bundle!, leaf: await leafOf(deps, tx, keySet, now) };
      }),
    ),
  );
  return withTransparency(deps, caller.projectId, bundle, leaf);
}
