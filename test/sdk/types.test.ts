/**
 * The SDK's hand-written wire types against the server's zod schemas: a drift on either side
 * fails `tsc` (the type assertions) and this test (the schemas parse the SDK's own values).
 */
import type { z } from '@hono/zod-openapi';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { paginationSchema } from '../../src/routes/schemas.ts';
import type { publicKeySchema } from '../../src/routes/public-keys/schemas.ts';
import { backupBody, type recoverResult } from '../../src/routes/v1-keys/backup-schemas.ts';
import {
  type bundleResult,
  type keySetSummary,
  registerBody,
  type registerResult,
  type revokeResult,
  rotateBody,
  type rotateResult,
  type suspensionResult,
  type verifyResult,
} from '../../src/routes/v1-keys/schemas.ts';
import { type completedSession, sharedSecretBody, type sharedSecretResult, type sessionView } from '../../src/routes/v1-keys/session-schemas.ts';
import {
  encryptBackup,
  generateKeySet,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type BackupRequest,
  type CompletedSession,
  type KeyBundle,
  type KeySetSummary,
  type Pagination,
  type PublicKeyRecord,
  type RecoveredBackup,
  type RegisterRequest,
  type RegisterResult,
  type RevokeResult,
  type RotateRequest,
  type RotateResult,
  type SessionView,
  type SharedSecretRequest,
  type SharedSecretResponse,
  type SuspensionResult,
  type VerifyResult,
} from '../../packages/client/src/index.ts';

describe('SDK wire types', () => {
  it('equal the server schemas (responses: output types; requests: input types)', () => {
    expectTypeOf<RegisterResult>().toEqualTypeOf<z.output<typeof registerResult>>();
    expectTypeOf<KeyBundle>().toEqualTypeOf<z.output<typeof bundleResult>>();
    expectTypeOf<RotateResult>().toEqualTypeOf<z.output<typeof rotateResult>>();
    expectTypeOf<RevokeResult>().toEqualTypeOf<z.output<typeof revokeResult>>();
    expectTypeOf<SuspensionResult>().toEqualTypeOf<z.output<typeof suspensionResult>>();
    expectTypeOf<KeySetSummary>().toEqualTypeOf<z.output<typeof keySetSummary>>();
    expectTypeOf<VerifyResult>().toEqualTypeOf<z.output<typeof verifyResult>>();
    expectTypeOf<Pagination>().toEqualTypeOf<z.output<typeof paginationSchema>>();
    expectTypeOf<SessionView>().toEqualTypeOf<z.output<typeof sessionView>>();
    expectTypeOf<CompletedSession>().toEqualTypeOf<z.output<typeof completedSession>>();
    expectTypeOf<SharedSecretResponse>().toEqualTypeOf<z.output<typeof sharedSecretResult>>();
    expectTypeOf<RecoveredBackup>().toEqualTypeOf<z.output<typeof recoverResult>>();
    expectTypeOf<Omit<PublicKeyRecord, 'keyType'>>().toEqualTypeOf<Omit<z.output<typeof publicKeySchema>, 'keyType'>>();
    expectTypeOf<RegisterRequest>().toEqualTypeOf<z.input<typeof registerBody>>();
    expectTypeOf<RotateRequest>().toEqualTypeOf<z.input<typeof rotateBody>>();
    expectTypeOf<SharedSecretRequest>().toEqualTypeOf<z.input<typeof sharedSecretBody>>();
    expectTypeOf<BackupRequest>().toEqualTypeOf<z.input<typeof backupBody>>();
  });

  it("the server's request schemas accept every body the SDK builds", async () => {
    const { registrationPayload, privateKeys } = generateKeySet(100, { lastResort: true });
    const register: RegisterRequest = { userId: 'user_a', ...registrationPayload, deviceId: 'phone', deviceName: 'Phone' };
    expect(registerBody.safeParse(register).error).toBeUndefined();
    const rotate: RotateRequest = {
      userId: 'user_a',
      deviceId: 'phone',
      newSignedPreKey: generateSignedPreKey(privateKeys.identityKey).signedPreKey,
      newOneTimePreKeys: generateOneTimePreKeys(100).preKeys,
      newLastResortPreKey: generateSignedPreKey(privateKeys.identityKey, 'lrk').signedPreKey,
    };
    expect(rotateBody.safeParse(rotate).error).toBeUndefined();
    const backup = await encryptBackup('user_a', privateKeys, 'pw', { argon2Params: { timeCost: 1, memoryCost: 8, parallelism: 1 }, expectedVersion: 3 });
    expect(backupBody.safeParse(backup).error).toBeUndefined();
    const session: SharedSecretRequest = {
      initiatorUserId: 'user_a',
      responderUserId: 'user_b',
      initiatorEphemeralKey: registrationPayload.oneTimePreKeys[0]!.publicKey,
      initiatorIdentityKey: registrationPayload.identityKey,
      responderDeviceId: 'phone',
    };
    expect(sharedSecretBody.safeParse(session).error).toBeUndefined();
  });
});
