/**
 * @prekeyd/client: the typed SDK. Keys are generated and X3DH is computed on the device; the
 * server only ever sees public keys and encrypted backups.
 */
export { PrekeydClient, type ClientSubscribeOptions, type PrekeydClientOptions } from './client.ts';
export { isPrekeydError, PrekeydError, type ClientErrorCode, type PrekeydErrorCode, type PrekeydErrorDetail, type ServerErrorCode } from './errors.ts';
export {
  generateKeySet,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type GenerateKeySetOptions,
  type GeneratedPreKeys,
  type GeneratedSignedPreKey,
} from './keygen.ts';
export { generatePqLastResortPreKey, generatePqOneTimePreKeys, type GeneratedPqLastResortPreKey, type GeneratedPqPreKeys } from './keygen.ts';
export {
  pqxdhInfo,
  pqxdhInitiate,
  pqxdhKdf,
  pqxdhRespond,
  verifyPqPreKey,
  type PqxdhBundle,
  type PqxdhInitiatorInput,
  type PqxdhInitiatorResult,
  type PqxdhResponderInput,
} from './pqxdh.ts';
export {
  verifyBundle,
  x3dhInfo,
  x3dhInitiate,
  x3dhKdf,
  x3dhRespond,
  type InitiatorInput,
  type InitiatorResult,
  type ResponderInput,
  type X3dhBundle,
  type X3dhSecret,
} from './x3dh.ts';
export { decrypt, decryptText, encrypt, type EncryptedMessage } from './encryption.ts';
export { EncryptionService } from './encryption-service.ts';
export { anchorHashOf, canonicalJson, type AnchorMessage, type AnchorOptions } from './anchors.ts';
export { TransparencyVerifier, type CheckpointStore, type ServedKeys, type TransparencyOptions, type VerifiedProof } from './transparency.ts';
export type { Anchor, TransparencyProof } from './transparency-types.ts';
export {
  backupAlgorithm,
  decryptBackup,
  defaultArgon2Limits,
  defaultArgon2Params,
  encryptBackup,
  type DecryptBackupOptions,
  type EncryptBackupOptions,
} from './backup.ts';
export {
  identityKeyFingerprint,
  x3dhFallbackWarning,
  type KeyAgreement,
  type AcceptedSession,
  type AcceptOptions,
  type EstablishedSession,
  type EstablishOptions,
  type IdentityKeyInput,
} from './sessions.ts';
export type {
  KeysApi,
  DeviceOption,
  RecoveredKeys,
  ReplenishOptions,
  ReplenishResult,
  ReplenishPqOptions,
  ReplenishPqResult,
  RotateSignedPreKeyOptions,
  SignedPreKeyRotation,
} from './keys-api.ts';
export type { PublicKeysApi } from './public-keys-api.ts';
export type { DeviceSession, DevicesApi, EstablishedSessions, EstablishSessionsOptions } from './devices-api.ts';
export type * from './device-types.ts';
export type {
  EventHandler,
  ReconnectOptions,
  SubscribeOptions,
  Subscription,
  SubscriptionStatus,
  AnyWebSocketClass,
  WebSocketConstructor,
  WebSocketLike,
} from './push.ts';
export type { AutoReplenishOptions } from './replenisher.ts';
export type { FetchFunction } from './http.ts';
export type * from './types.ts';
