/**
 * Types of the wire shapes of prekeyd's API (seed 004, SPEC §3-4) and of the SDK's key
 * material. Keys on the wire are lowercase hex; private keys are kept as hex too, so that a
 * key set serialises to JSON as is (for secure storage and backups).
 */
import type { PublicKeyTypeName } from './core/keys.ts';
import type { TransparencyProof } from './transparency-types.ts';

// ---------------------------------------------------------------- key material

export interface PreKey {
  keyId: string;
  /** 32-byte X25519 public key, hex. */
  publicKey: string;
}

export interface SignedPreKey extends PreKey {
  /** 64-byte Ed25519 signature by the identity key over the 32 raw bytes of `publicKey`, hex. */
  signature: string;
}

/** An ML-KEM-1024 pre-key as published: the encapsulation key and the identity key's signature. */
export interface PqPreKey extends PreKey {
  /** 1,568-byte ML-KEM-1024 encapsulation key, hex. */
  publicKey: string;
  /** 64-byte Ed25519 signature by the identity key over 0x0A ‖ publicKey (1,569 bytes), hex. */
  signature: string;
}

/** A bundle's ML-KEM pre-key: one-time, or the last-resort one (never consumed). */
export interface BundlePqPreKey {
  keyId: string;
  publicKey: string;
  signature: string;
  lastResort: boolean;
}

/** An X25519 key pair the client keeps: the public half was published under `keyId`. */
export interface PreKeyPair {
  keyId: string;
  /** 32-byte X25519 secret, hex. */
  privateKey: string;
  publicKey: string;
}

/** What a device must keep secret, and never send anywhere but into an encrypted backup. */
export interface PrivateKeys {
  /** 32-byte Ed25519 secret key (RFC 8032 seed), hex. */
  identityKey: string;
  /** The matching Ed25519 public key, hex (what the server knows). */
  identityPublicKey: string;
  signedPreKey: PreKeyPair;
  /**
   * Signed pre-keys replaced by a rotation. Keep them until sessions started against them have
   * expired (24 h), so that a responder can still accept those sessions.
   */
  previousSignedPreKeys?: PreKeyPair[];
  /** One-time pre-key secrets by keyId, hex. Delete each once a session has used it. */
  oneTimePreKeys: Record<string, string>;
  lastResortPreKey?: PreKeyPair;
  /** Last-resort pre-keys replaced by a rotation; keep them as long as previousSignedPreKeys. */
  previousLastResortPreKeys?: PreKeyPair[];
  /** ML-KEM-1024 one-time pre-key secrets (the 64-byte seed d ‖ z), hex, by keyId. Delete each once a session has used it. */
  pqOneTimePreKeys?: Record<string, string>;
  /** The ML-KEM-1024 last-resort pre-key (privateKey: the 64-byte seed, hex; publicKey: the encapsulation key). */
  pqLastResortPreKey?: PreKeyPair;
  previousPqLastResortPreKeys?: PreKeyPair[];
}

/** Exactly the `/v1/keys/register` body without `userId`, `deviceId` and `deviceName`. */
export interface RegistrationPayload {
  identityKey: string;
  signedPreKey: SignedPreKey;
  oneTimePreKeys: PreKey[];
  lastResortPreKey?: SignedPreKey;
  pqOneTimePreKeys?: PqPreKey[];
  pqLastResortPreKey?: PqPreKey;
}

export interface GeneratedKeySet {
  registrationPayload: RegistrationPayload;
  privateKeys: PrivateKeys;
}

// ---------------------------------------------------------------- /v1/keys

export type KeySetStatus = 'active' | 'revoked' | 'expired' | 'suspended';

export interface RegisterRequest extends RegistrationPayload {
  userId: string;
  deviceId?: string;
  deviceName?: string;
}

export interface RegisterResult {
  userId: string;
  deviceId: string;
  identityKeyFingerprint: string;
  signedPreKeyId: string;
  oneTimePreKeysCount: number;
  pqOneTimePreKeysCount: number;
  status: 'active';
  registeredAt: string;
}

export interface KeyBundle {
  userId: string;
  deviceId: string;
  identityKey: string;
  signedPreKey: SignedPreKey;
  oneTimePreKey: PreKey | null;
  lastResortPreKey?: SignedPreKey;
  /** Null when the key set has no ML-KEM pre-keys. */
  pqPreKey: BundlePqPreKey | null;
  remainingOneTimePreKeys: number;
  remainingPqOneTimePreKeys: number;
  /** Present when no one-time pre-key (or only the last-resort ML-KEM one) was handed out. */
  warning?: string;
  /** From a `--transparency` server: the proof that the log published these keys. */
  transparency?: TransparencyProof;
}

export interface RotateRequest {
  userId: string;
  deviceId?: string;
  newSignedPreKey?: SignedPreKey;
  newOneTimePreKeys?: PreKey[];
  newLastResortPreKey?: SignedPreKey;
  newPqOneTimePreKeys?: PqPreKey[];
  newPqLastResortPreKey?: PqPreKey;
}

export interface RotateResult {
  signedPreKeyRotated: boolean;
  newSignedPreKeyId: string | null;
  oneTimePreKeysAdded: number;
  totalOneTimePreKeysAvailable: number;
  pqOneTimePreKeysAdded: number;
  totalPqOneTimePreKeysAvailable: number;
  rotatedAt: string;
}

export interface RevokeResult {
  userId: string;
  status: 'revoked';
  revokedAt: string;
  reason: string | null;
  deviceIds: string[];
}

export interface SuspensionResult {
  userId: string;
  status: 'suspended' | 'active';
  deviceIds: string[];
  changedAt: string;
}

export interface KeySetSummary {
  userId: string;
  deviceId: string;
  identityKeyFingerprint: string;
  status: KeySetStatus;
  oneTimePreKeysRemaining: number;
  pqOneTimePreKeysRemaining: number;
  pqLastResortPreKeyAvailable: boolean;
  registeredAt: string;
  lastRotatedAt: string | null;
  deviceName: string | null;
}

export interface VerifyResult extends KeySetSummary {
  isValid: boolean;
  transparency?: TransparencyProof;
}

export interface Pagination {
  page: number;
  limit: number;
  total: number;
  totalPages: number;
  hasNextPage: boolean;
  hasPrevPage: boolean;
}

export interface Page<T> {
  data: T[];
  pagination: Pagination;
}

export interface ListKeysQuery {
  status?: KeySetStatus;
  page?: number;
  limit?: number;
  sortBy?: 'createdAt' | 'registeredAt' | 'lastRotatedAt' | 'userId' | 'oneTimePreKeysRemaining';
  sortOrder?: 'asc' | 'desc';
}

// ---------------------------------------------------------------- backups

export interface Argon2Params {
  timeCost: number;
  /** KiB. */
  memoryCost: number;
  parallelism: number;
}

export interface BackupEncryptionMetadata {
  algorithm: string;
  argon2Params: Argon2Params;
  /** AES-GCM nonce, hex. */
  nonce: string;
  /** Argon2 salt, hex. */
  salt: string;
}

/** The `/v1/keys/backup` body. */
export interface BackupRequest {
  userId: string;
  /** base64 of the AES-256-GCM ciphertext (with its 16-byte tag). */
  encryptedBundle: string;
  encryptionMetadata: BackupEncryptionMetadata;
  /** hex SHA-256 of the decoded `encryptedBundle`. */
  checksum: string;
  expectedVersion?: number;
}

export interface BackupResult {
  version: number;
  storedAt: string;
}

export interface RecoveredBackup {
  encryptedBundle: string;
  encryptionMetadata: BackupEncryptionMetadata;
  checksum: string;
  version: number;
  backedUpAt: string;
}

// ---------------------------------------------------------------- sessions

export interface SharedSecretRequest {
  initiatorUserId: string;
  responderUserId: string;
  initiatorEphemeralKey: string;
  initiatorIdentityKey?: string;
  responderDeviceId?: string;
  /** PQXDH: also hand out the responder's ML-KEM pre-key; the session then waits for the KEM ciphertext. */
  postQuantum?: boolean;
  /** Refuse (409, nothing consumed) when the responder has no ML-KEM pre-key to hand out. */
  requirePostQuantum?: boolean;
}

export interface SharedSecretResponse {
  sessionId: string;
  responderBundle: {
    identityKey: string;
    signedPreKey: SignedPreKey;
    oneTimePreKey: PreKey | null;
    lastResortPreKey?: SignedPreKey;
    /** With `postQuantum: true` only; null when the responder has no ML-KEM pre-keys. */
    pqPreKey?: BundlePqPreKey | null;
    warning?: string;
    transparency?: TransparencyProof;
  };
  remainingPqOneTimePreKeys?: number;
  expiresAt: string;
}

export interface SessionView {
  sessionId: string;
  initiatorUserId: string;
  responderUserId: string;
  initiatorIdentityKey: string;
  initiatorEphemeralKey: string;
  signedPreKeyId: string;
  oneTimePreKeyId: string | null;
  /** The last-resort pre-key the initiator used for DH4 (no one-time pre-key was left), else null. */
  lastResortPreKeyId: string | null;
  /** PQXDH: the responder's ML-KEM pre-key the initiator encapsulated to (one-time, or the last-resort one), else null. */
  pqPreKeyId: string | null;
  pqPreKeyLastResort: boolean;
  /** The initiator's ML-KEM-1024 ciphertext, hex; null until it is sent. */
  kemCiphertext: string | null;
  status: 'pending' | 'completed';
  createdAt: string;
  expiresAt: string;
}

export interface CompletedSession extends SessionView {
  completedAt: string | null;
}

// ---------------------------------------------------------------- audit

export type AuditAction =
  | 'KEYS_REGISTERED'
  | 'KEYS_ROTATED'
  | 'KEYS_REVOKED'
  | 'KEYS_SUSPENDED'
  | 'KEYS_UNSUSPENDED'
  | 'BUNDLE_FETCHED'
  | 'BACKUP_CREATED'
  | 'BACKUP_UPDATED'
  | 'BACKUP_RECOVERED'
  | 'SHARED_SECRET_INITIATED'
  | 'SHARED_SECRET_COMPLETED'
  | 'SHARED_SECRET_CIPHERTEXT_SENT'
  | 'KEY_VERIFIED'
  | 'PREKEY_CONSUMED'
  | 'PREKEYS_REPLENISHED'
  | 'API_KEY_CREATED'
  | 'API_KEY_UPDATED'
  | 'API_KEY_DELETED'
  | 'PUBLIC_KEY_ADDED'
  | 'PUBLIC_KEY_GENERATED'
  | 'PUBLIC_KEY_DELETED'
  // The server may record more actions than this SDK version knows.
  | (string & {});

export interface AuditQuery {
  userId?: string;
  action?: AuditAction;
  /** ISO instant or date. */
  startDate?: string;
  endDate?: string;
  page?: number;
  limit?: number;
}

export interface AuditEntry {
  id: number;
  action: AuditAction;
  resource: string;
  userId: string | null;
  details: Record<string, unknown>;
  ipAddress: string | null;
  actor: string;
  status: 'SUCCESS' | 'FAILURE';
  createdAt: string;
  prevHash: string;
  hash: string;
}

export interface AuditChainReport {
  valid: boolean;
  entries: number;
  headHash: string;
  brokenAt?: number;
}

// ---------------------------------------------------------------- public-key directory (seed 002)

/** The directory's key types: the server's own list (core/keys.ts). */
export type PublicKeyType = PublicKeyTypeName;

export interface PublicKeyRecord {
  id: string;
  name: string;
  publicKey: string;
  keyType: PublicKeyType | (string & {});
  ownerId: string;
  createdAt: string;
}

export interface ListPublicKeysQuery {
  ownerId?: string;
  page?: number;
  limit?: number;
}

export interface ImportPublicKeyRequest {
  ownerId: string;
  name: string;
  keyType: PublicKeyType;
  publicKey: string;
}

export interface GeneratedPublicKey {
  /** The stored public key. */
  key: PublicKeyRecord;
  /** Hex of the secret; returned only this once by the server. */
  privateKey: string;
}

// ---------------------------------------------------------------- push channel (SPEC §4)

export interface PrekeydEventData {
  /** `kind: 'kyber'` marks alerts about the post-quantum pre-keys of Signal clients (/v2/keys). */
  'prekeys.low': { deviceId: string; remaining: number; threshold: number; kind?: 'kyber' };
  'prekeys.exhausted': { deviceId: string; lastResortAvailable: boolean; kind?: 'kyber' };
  'keys.registered': Record<string, unknown>;
  'keys.rotated': Record<string, unknown>;
  'prekeys.replenished': { added: number; remaining: number } & Record<string, unknown>;
  'keys.revoked': { reason: string | null; revokedAt: string } & Record<string, unknown>;
  /** `deviceId`: the responder device the session is for; `postQuantum`: a PQXDH session (its ciphertext is stored). */
  'session.initiated': { sessionId: string; initiatorUserId: string; deviceId?: string; postQuantum?: boolean } & Record<string, unknown>;
  'peer.keys.revoked': { peerUserId: string; peerDeviceIds?: string[] } & Record<string, unknown>;
  /** `userId`'s device list changed (pushed to the user and to users holding a session with them). */
  'devices.changed': { userId: string; deviceListVersion: number; added: string[]; removed: string[]; changed: string[] };
  /** The `/v1` ML-KEM one-time pre-keys of a device (same rules as `prekeys.*`). */
  'pqprekeys.low': { deviceId: string; remaining: number; threshold: number };
  'pqprekeys.exhausted': { deviceId: string; lastResortAvailable: boolean };
}

export type PrekeydEventName = keyof PrekeydEventData;

/** One pushed event; `id` is a string of decimal digits, increasing within a project. */
export type PrekeydEvent = {
  [Name in PrekeydEventName]: {
    id: string;
    event: Name;
    userId: string;
    data: PrekeydEventData[Name];
    createdAt: string;
  };
}[PrekeydEventName];
