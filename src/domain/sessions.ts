/**
 * Server-assisted X3DH sessions. The server hands the initiator the responder's bundle
 * (consuming a one-time pre-key exactly as a bundle fetch does) and records what the
 * responder needs to derive the same secret: the initiator's identity and ephemeral keys and
 * the pre-key ids used. With no one-time pre-key to hand out, the last-resort pre-key served in
 * its place is recorded too: the initiator uses it for DH4, so the responder must know it was.
 * The secret itself is computed by the clients only.
 *
 * PQXDH (`postQuantum: true`): the bundle also carries the responder's ML-KEM pre-key (consumed
 * in the same transaction). The initiator can encapsulate only once it has that key, so it
 * sends the KEM ciphertext in a second call (`submitKemCiphertext`); the responder is told of
 * the session (`session.initiated`) once the ciphertext is stored, never before.
 */
import { decodeHex, encodeHex } from '../../packages/client/src/core/encoding.ts';
import { isValidX25519PublicKey } from '../../packages/client/src/core/keys.ts';
import type { KeySetRecord, SessionRecord, StoreTx } from '../store/types.ts';
import { mlKem1024CiphertextLength } from '../../packages/client/src/ml-kem.ts';
import { appendAudit, audited } from './audit.ts';
import { takeV1PreKeys, v1BundleKeys, v1KeysPerBundle, withPreKeyBudget } from './bundles.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { emitEvent } from './events.ts';
import { defaultDeviceId, findKeySetForRead, requireUsable } from './key-set-lookup.ts';
import { checkIdentityKey } from './key-validation.ts';
import { leafOf, withTransparency } from './transparency/answers.ts';
import { type Caller, requireActAs } from './principal.ts';

export interface InitiateSessionInput {
  initiatorUserId: string;
  responderUserId: string;
  initiatorEphemeralKey: string;
  /** Optional: when given it must be the identity key of the initiator's stored key set. */
  initiatorIdentityKey?: string;
  responderDeviceId?: string;
  /** PQXDH: hand out the responder's ML-KEM pre-key too, and wait for the initiator's ciphertext. */
  postQuantum?: boolean;
  /** Refuse a responder with no ML-KEM pre-key to hand out (the transaction rolls back: nothing is consumed). */
  requirePostQuantum?: boolean;
}

const newSessionId = (): string => `sess_${encodeHex(crypto.getRandomValues(new Uint8Array(16)))}`;

/**
 * The initiator's own key set: its identity key is what the responder will use, so it must be
 * the registered one. Only revocation and suspension disqualify it: the age of the
 * initiator's own signed pre-key plays no part in a session it initiates.
 */
async function findInitiatorKeySet(tx: StoreTx, projectId: string, input: InitiateSessionInput): Promise<KeySetRecord> {
  const all = await tx.keySets.listForUser(projectId, input.initiatorUserId);
  if (all.length === 0) throw new AppError('NOT_FOUND', `No keys registered for user ${input.initiatorUserId}`);
  const active = all.filter((keySet) => keySet.keyFormat === 'v1' && keySet.status === 'active');
  if (active.length === 0) {
    throw new AppError('CONFLICT', `The initiator ${input.initiatorUserId} has no active key set; register keys first`);
  }
  if (input.initiatorIdentityKey === undefined) {
    return active.find((keySet) => keySet.deviceId === defaultDeviceId) ?? active[0]!;
  }
  const matching = active.find((keySet) => keySet.identityKey === input.initiatorIdentityKey);
  if (!matching) {
    throw new AppError('VALIDATION_ERROR', "initiatorIdentityKey is not the initiator's registered identity key", [
      { field: 'initiatorIdentityKey', message: "does not match the initiator's registered identity key" },
    ]);
  }
  return matching;
}

function checkEphemeralKey(hex: string): void {
  if (!isValidX25519PublicKey(decodeHex(hex) ?? new Uint8Array())) {
    throw new AppError('VALIDATION_ERROR', 'initiatorEphemeralKey is not a usable X25519 public key', [
      { field: 'initiatorEphemeralKey', message: 'not a usable X25519 public key (low-order point)' },
    ]);
  }
}

export async function initiateSession(deps: Deps, caller: Caller, input: InitiateSessionInput) {
  requireActAs(caller.principal, input.initiatorUserId);
  checkEphemeralKey(input.initiatorEphemeralKey);
  if (input.initiatorIdentityKey !== undefined) checkIdentityKey(input.initiatorIdentityKey, 'initiatorIdentityKey');

  const postQuantum = input.postQuantum === true || input.requirePostQuantum === true;
  const failure = {
    action: 'SHARED_SECRET_INITIATED',
    userId: input.initiatorUserId,
    resource: 'SESSION',
    details: { responderUserId: input.responderUserId, responderDeviceId: input.responderDeviceId ?? null },
  } as const;
  const { answer, leaf } = await withPreKeyBudget(deps, caller, input.responderUserId, v1KeysPerBundle(postQuantum), (newBudget) =>
    audited(deps, caller, failure, () =>
      deps.store.transaction(async (tx) => {
        const now = deps.clock.now();
        const budget = newBudget();
        const initiator = await findInitiatorKeySet(tx, caller.projectId, input);
        const responder = await findKeySetForRead(tx, caller.projectId, input.responderUserId, input.responderDeviceId, 'v1');
        requireUsable(responder, deps.settings, now);
        // Without postQuantum no ML-KEM key is taken: an X3DH-only client would waste it.
        const taken = (await takeV1PreKeys(deps, tx, caller, [responder], budget, now, postQuantum))[0]!;
        const bundle = v1BundleKeys(responder, taken);
        const { pqPreKey: _unused, ...classicBundle } = bundle;
        const lastResortPreKey = bundle.lastResortPreKey ?? null;
        const pqPreKey = bundle.pqPreKey;
        if (input.requirePostQuantum && pqPreKey === null) {
          throw new AppError('CONFLICT', `User ${input.responderUserId} has no post-quantum pre-key to hand out`, [
            { field: 'requirePostQuantum', message: 'the responder has no ML-KEM pre-key (one-time or last resort)' },
          ]);
        }

        const session: SessionRecord = {
          sessionId: newSessionId(),
          projectId: caller.projectId,
          initiatorUserId: input.initiatorUserId,
          responderUserId: input.responderUserId,
          responderDeviceId: responder.deviceId,
          initiatorIdentityKey: initiator.identityKey,
          initiatorEphemeralKey: input.initiatorEphemeralKey,
          signedPreKeyId: responder.signedPreKey.keyId,
          oneTimePreKeyId: taken.oneTimePreKey?.keyId ?? null,
          lastResortPreKeyId: lastResortPreKey?.keyId ?? null,
          pqPreKeyId: pqPreKey?.keyId ?? null,
          pqPreKeyLastResort: pqPreKey?.lastResort ?? false,
          kemCiphertext: null,
          status: 'pending',
          createdAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + deps.settings.sessionTtlMs).toISOString(),
          completedAt: null,
        };
        await tx.sessions.insert(session);
        const details = {
          sessionId: session.sessionId,
          responderUserId: session.responderUserId,
          responderDeviceId: session.responderDeviceId,
          signedPreKeyId: session.signedPreKeyId,
          oneTimePreKeyId: session.oneTimePreKeyId,
          lastResortPreKeyId: session.lastResortPreKeyId,
          ...(postQuantum && { pqPreKeyId: session.pqPreKeyId, pqPreKeyLastResort: session.pqPreKeyLastResort }),
        };
        await appendAudit(tx, caller, now, { action: 'SHARED_SECRET_INITIATED', userId: input.initiatorUserId, resource: 'SESSION', details });
        // A PQXDH session is announced once its ciphertext is stored (submitKemCiphertext).
        if (pqPreKey === null) await announceSession(tx, session, now);
        const answer = {
          sessionId: session.sessionId,
          responderBundle: postQuantum ? bundle : classicBundle,
          ...(postQuantum && { remainingPqOneTimePreKeys: taken.remainingPq }),
          expiresAt: session.expiresAt,
        };
        return { answer, leaf: await leafOf(deps, tx, responder, now) };
      }),
    ),
  );
  return { ...answer, responderBundle: await withTransparency(deps, caller.projectId, answer.responderBundle, leaf) };
}

async function announceSession(tx: StoreTx, session: SessionRecord, now: Date): Promise<void> {
  const eventData = {
    sessionId: session.sessionId,
    initiatorUserId: session.initiatorUserId,
    deviceId: session.responderDeviceId,
    ...(session.pqPreKeyId !== null && { postQuantum: true }),
  };
  await emitEvent(tx, session.projectId, session.responderUserId, 'session.initiated', eventData, now);
}

/** What the responder reads (SPEC §3). */
function sessionView(session: SessionRecord) {
  return {
    sessionId: session.sessionId,
    initiatorUserId: session.initiatorUserId,
    responderUserId: session.responderUserId,
    initiatorIdentityKey: session.initiatorIdentityKey,
    initiatorEphemeralKey: session.initiatorEphemeralKey,
    signedPreKeyId: session.signedPreKeyId,
    oneTimePreKeyId: session.oneTimePreKeyId,
    lastResortPreKeyId: session.lastResortPreKeyId,
    pqPreKeyId: session.pqPreKeyId,
    pqPreKeyLastResort: session.pqPreKeyLastResort,
    kemCiphertext: session.kemCiphertext,
    status: session.status,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  };
}

/** A live session of the caller's project that the caller may act on as the responder. */
async function findResponderSession(tx: StoreTx, caller: Caller, sessionId: string, now: Date): Promise<SessionRecord> {
  const session = await tx.sessions.get(caller.projectId, sessionId);
  if (!session || Date.parse(session.expiresAt) <= now.getTime()) {
    throw new AppError('NOT_FOUND', `No live session ${sessionId}`);
  }
  requireActAs(caller.principal, session.responderUserId);
  return session;
}

export async function readSession(deps: Deps, caller: Caller, sessionId: string) {
  return deps.store.transaction(async (tx) => sessionView(await findResponderSession(tx, caller, sessionId, deps.clock.now())));
}

/** Completing twice is harmless: the second call answers the first completion and records nothing. */
export async function completeSession(deps: Deps, caller: Caller, sessionId: string) {
  const failure = { action: 'SHARED_SECRET_COMPLETED', userId: null, resource: 'SESSION', details: { sessionId } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const session = await findResponderSession(tx, caller, sessionId, now);
      if (session.status === 'completed') return { ...sessionView(session), completedAt: session.completedAt };
      if (session.pqPreKeyId !== null && session.kemCiphertext === null) {
        throw new AppError('CONFLICT', `Session ${sessionId} is waiting for the initiator's kemCiphertext`);
      }
      const completedAt = now.toISOString();
      await tx.sessions.complete(caller.projectId, sessionId, completedAt);
      const details = { sessionId, initiatorUserId: session.initiatorUserId, responderDeviceId: session.responderDeviceId };
      await appendAudit(tx, caller, now, { action: 'SHARED_SECRET_COMPLETED', userId: session.responderUserId, resource: 'SESSION', details });
      return { ...sessionView(session), status: 'completed' as const, completedAt };
    }),
  );
}

/** The initiator's own live session (PQXDH: it sends the ciphertext). */
async function findInitiatorSession(tx: StoreTx, caller: Caller, sessionId: string, now: Date): Promise<SessionRecord> {
  const session = await tx.sessions.get(caller.projectId, sessionId);
  if (!session || Date.parse(session.expiresAt) <= now.getTime()) {
    throw new AppError('NOT_FOUND', `No live session ${sessionId}`);
  }
  requireActAs(caller.principal, session.initiatorUserId);
  return session;
}

function checkKemCiphertext(hex: string): void {
  if ((decodeHex(hex)?.length ?? 0) !== mlKem1024CiphertextLength) {
    throw new AppError('VALIDATION_ERROR', `kemCiphertext must be an ML-KEM-1024 ciphertext of ${mlKem1024CiphertextLength} bytes`, [
      { field: 'kemCiphertext', message: `must be ${mlKem1024CiphertextLength} bytes` },
    ]);
  }
}

/**
 * PQXDH's second step: the initiator's ML-KEM ciphertext for the pre-key the session handed
 * out; then the responder is told (`session.initiated`). Sending the same ciphertext again is
 * harmless; another one is refused: the responder may already have derived the secret.
 */
export async function submitKemCiphertext(deps: Deps, caller: Caller, sessionId: string, kemCiphertext: string) {
  checkKemCiphertext(kemCiphertext);
  const failure = { action: 'SHARED_SECRET_CIPHERTEXT_SENT', userId: null, resource: 'SESSION', details: { sessionId } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const session = await findInitiatorSession(tx, caller, sessionId, now);
      if (session.pqPreKeyId === null) {
        throw new AppError('CONFLICT', `Session ${sessionId} handed out no post-quantum pre-key (start it with postQuantum: true)`);
      }
      if (session.kemCiphertext !== null) {
        if (session.kemCiphertext === kemCiphertext) return sessionView(session);
        throw new AppError('CONFLICT', `Session ${sessionId} already has a kemCiphertext`);
      }
      await tx.sessions.setKemCiphertext(caller.projectId, sessionId, kemCiphertext);
      const stored = { ...session, kemCiphertext };
      const details = { sessionId, responderUserId: session.responderUserId, pqPreKeyId: session.pqPreKeyId };
      await appendAudit(tx, caller, now, { action: 'SHARED_SECRET_CIPHERTEXT_SENT', userId: session.initiatorUserId, resource: 'SESSION', details });
      await announceSession(tx, stored, now);
      return sessionView(stored);
    }),
  );
}
