/**
 * The storage interface of prekeyd. Domain code sees only these types; both backends
 * (`sqljs/`, `postgres/`) implement them with the SQL of `sql/`, adding what differs between them
 * (durability, locking, notifications). Every method runs inside a transaction, and
 * `Store.transaction` resolves only once the transaction is durable.
 */

export type KeySetStatus = 'active' | 'suspended' | 'revoked';
/** What clients see: `expired` is derived from the signed pre-key's age, never stored. */
export type VisibleKeySetStatus = KeySetStatus | 'expired';

export interface SignedKey {
  keyId: string;
  publicKey: string;
  signature: string;
}

export interface PreKey {
  keyId: string;
  publicKey: string;
}

/** A last-resort key is never consumed; Signal's EC one is unsigned, the others are signed. */
export interface LastResortKey {
  keyId: string;
  publicKey: string;
  signature: string | null;
}

/**
 * `v1`: hex keys of `/v1/keys` (Ed25519 identity key, X25519 pre-keys, Ed25519 signatures).
 * `signal`: libsignal's base64 keys of `/v2/keys` (type-byte-prefixed, XEdDSA signatures, Kyber).
 */
export type KeyFormat = 'v1' | 'signal';

export interface KeySetRecord {
  id: number;
  keyFormat: KeyFormat;
  projectId: string;
  userId: string;
  deviceId: string;
  deviceName: string | null;
  /** Signal clients only (`/v2`): the libsignal registration id. */
  registrationId: number | null;
  identityKey: string;
  signedPreKey: SignedKey;
  signedPreKeyCreatedAt: string;
  lastResortPreKey: LastResortKey | null;
  /** Signal clients only: the Kyber last-resort pre-key, handed out when no Kyber one-time key is left. */
  pqLastResortPreKey: LastResortKey | null;
  status: KeySetStatus;
  statusReason: string | null;
  oneTimePreKeyCount: number;
  /** Stored post-quantum (`kyber` kind) one-time pre-keys. */
  pqOneTimePreKeyCount: number;
  registeredAt: string;
  lastRotatedAt: string | null;
  revokedAt: string | null;
}

export type NewKeySet = Omit<KeySetRecord, 'id' | 'oneTimePreKeyCount' | 'pqOneTimePreKeyCount' | 'lastRotatedAt' | 'revokedAt' | 'status' | 'statusReason'>;

export type KeySetSortField = 'registeredAt' | 'lastRotatedAt' | 'userId' | 'oneTimePreKeyCount';

export interface KeySetListQuery {
  projectId: string;
  status?: VisibleKeySetStatus;
  /** Only users whose id starts with this (exact, case-sensitive: user ids are ASCII). */
  userIdPrefix?: string;
  /** Signed pre-keys created before this instant are expired (undefined: nothing expires). */
  expiredBefore?: string;
  sortBy: KeySetSortField;
  sortOrder: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export interface KeySetRepository {
  insert(keySet: NewKeySet): Promise<KeySetRecord>;
  get(id: number): Promise<KeySetRecord | undefined>;
  /**
   * Until the transaction ends, no other transaction that calls this for the user gets past it:
   * a count of the user's devices then stays true until the new one is inserted. Must be the
   * transaction's first lock (so lock orders cannot cross); a no-op where transactions run one at a time.
   */
  lockUser(projectId: string, userId: string): Promise<void>;
  /** All key sets of a user (every device, every status), newest registration first. */
  listForUser(projectId: string, userId: string): Promise<KeySetRecord[]>;
  update(
    id: number,
    changes: Partial<
      Pick<
        KeySetRecord,
        | 'signedPreKey'
        | 'signedPreKeyCreatedAt'
        | 'lastResortPreKey'
        | 'pqLastResortPreKey'
        | 'status'
        | 'statusReason'
        | 'lastRotatedAt'
        | 'revokedAt'
        | 'deviceName'
        | 'registrationId'
        | 'identityKey'
      >
    >,
  ): Promise<void>;
  list(query: KeySetListQuery): Promise<{ items: KeySetRecord[]; total: number }>;
  /** Old signed pre-keys kept for sessions that still use them. */
  archiveSignedPreKey(keySetId: number, key: SignedKey, createdAt: string, replacedAt: string): Promise<void>;
  signedPreKeyHistory(keySetId: number): Promise<Array<SignedKey & { createdAt: string; replacedAt: string }>>;
  /** Drops archived signed pre-keys of the key set by key id (retention). */
  deleteArchivedSignedPreKeys(keySetId: number, keyIds: string[]): Promise<void>;
  /** Metrics over every project: key sets by visible status, and EC one-time pre-keys stored. */
  figures(expiredBefore?: string): Promise<{ byStatus: Record<VisibleKeySetStatus, number>; oneTimePreKeys: number }>;
}

/**
 * A one-time pre-key's kind: `ec` (X25519) or `kyber`, the post-quantum KEM pre-keys. What a
 * `kyber` key is follows from the key set's `keyFormat`: ML-KEM-1024 with an Ed25519
 * signature for `v1`, Kyber1024 or ML-KEM-1024 with an XEdDSA signature for `signal`.
 */
export type PreKeyKind = 'ec' | 'kyber';

export interface OneTimePreKeyRepository {
  insertMany(keySetId: number, kind: PreKeyKind, keys: Array<PreKey & { signature?: string | null }>, createdAt: string): Promise<void>;
  /** Atomically removes and returns the oldest stored key; undefined when none is left. */
  takeOldest(keySetId: number, kind: PreKeyKind): Promise<(PreKey & { signature: string | null }) | undefined>;
  /** takeOldest for each key set at once (one statement on PostgreSQL); key sets with none left are absent. */
  takeOldestOfEach(keySetIds: number[], kind: PreKeyKind): Promise<Map<number, PreKey & { signature: string | null }>>;
  count(keySetId: number, kind: PreKeyKind): Promise<number>;
  /** Which of `keyIds` are already stored for the key set. */
  existingKeyIds(keySetId: number, kind: PreKeyKind, keyIds: string[]): Promise<string[]>;
  deleteAll(keySetId: number, kind: PreKeyKind): Promise<void>;
}

export interface BackupRecord {
  projectId: string;
  userId: string;
  version: number;
  encryptedBundle: string;
  encryptionMetadata: unknown;
  checksum: string;
  createdAt: string;
}

export interface BackupRepository {
  latest(projectId: string, userId: string): Promise<BackupRecord | undefined>;
  /** The newest version number (0 when none), without reading the blob. */
  latestVersion(projectId: string, userId: string): Promise<number>;
  get(projectId: string, userId: string, version: number): Promise<BackupRecord | undefined>;
  insert(backup: BackupRecord): Promise<void>;
  /** Deletes all but the newest `keep` versions of the user's backups; returns how many went. */
  pruneVersions(projectId: string, userId: string, keep: number): Promise<number>;
  /** Decoded bytes of every stored backup version of the project (its quota). */
  storedBytes(projectId: string): Promise<number>;
}

export interface SessionRecord {
  sessionId: string;
  projectId: string;
  initiatorUserId: string;
  responderUserId: string;
  responderDeviceId: string;
  initiatorIdentityKey: string;
  initiatorEphemeralKey: string;
  signedPreKeyId: string;
  oneTimePreKeyId: string | null;
  /** The last-resort pre-key handed out instead of a one-time pre-key (the initiator's DH4 key), or null. */
  lastResortPreKeyId: string | null;
  /** PQXDH: the responder's ML-KEM pre-key handed out (one-time, or the last-resort one), or null. */
  pqPreKeyId: string | null;
  pqPreKeyLastResort: boolean;
  /** The initiator's ML-KEM ciphertext for that key, hex; null until it is sent. */
  kemCiphertext: string | null;
  status: 'pending' | 'completed';
  createdAt: string;
  expiresAt: string;
  completedAt: string | null;
}

export interface SessionRepository {
  insert(session: SessionRecord): Promise<void>;
  get(projectId: string, sessionId: string): Promise<SessionRecord | undefined>;
  complete(projectId: string, sessionId: string, completedAt: string): Promise<void>;
  setKemCiphertext(projectId: string, sessionId: string, kemCiphertext: string): Promise<void>;
  /** Users holding an unexpired session with `userId` (either side). */
  peersOf(projectId: string, userId: string, now: string): Promise<string[]>;
  /** Signed pre-key ids of the responder device that unexpired sessions still name. */
  signedPreKeysInUse(projectId: string, responderUserId: string, responderDeviceId: string, now: string): Promise<string[]>;
  deleteExpired(before: string): Promise<number>;
}

export interface AuditEntry {
  id: number;
  projectId: string;
  action: string;
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

export interface AuditQuery {
  projectId: string;
  userId?: string;
  action?: string;
  startDate?: string;
  endDate?: string;
  offset: number;
  limit: number;
}

export interface AuditRepository {
  /** The newest entry's hash for the project; locks the chain for this transaction. */
  head(projectId: string): Promise<string | undefined>;
  insert(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  query(query: AuditQuery): Promise<{ items: AuditEntry[]; total: number }>;
  /** Every entry of the project, oldest first, in pages (for chain verification). */
  scan(projectId: string, afterId: number, limit: number): Promise<AuditEntry[]>;
  /** The id of the project's newest entry (0 when none), without locking the chain. */
  lastId(projectId: string): Promise<number>;
}

export interface StoredEvent {
  id: string;
  projectId: string;
  userId: string;
  event: string;
  data: Record<string, unknown>;
  createdAt: string;
}

export interface EventRepository {
  append(event: Omit<StoredEvent, 'id'>): Promise<StoredEvent>;
  /** append for several events, ids in the given order (one statement on PostgreSQL). */
  appendMany(events: Array<Omit<StoredEvent, 'id'>>): Promise<StoredEvent[]>;
  /** Events after `afterId` for any of the users, oldest first. */
  listAfter(projectId: string, userIds: string[], afterId: string, limit: number): Promise<StoredEvent[]>;
  /** The newest event id of the project ("0" when none). */
  latestId(projectId: string): Promise<string>;
  deleteOlderThan(before: string): Promise<number>;
}

export interface ApiKeyRecord {
  uid: string;
  projectId: string;
  hash: string;
  prefix: string;
  description: string | null;
  acl: string[];
  userIds: string[];
  expiresAt: string | null;
  revoked: boolean;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

export interface ApiKeyRepository {
  insert(key: ApiKeyRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  get(uid: string): Promise<ApiKeyRecord | undefined>;
  list(query: { projectId?: string; search?: string; offset: number; limit: number }): Promise<{ items: ApiKeyRecord[]; total: number }>;
  update(uid: string, changes: Partial<Pick<ApiKeyRecord, 'description' | 'acl' | 'userIds' | 'revoked' | 'updatedAt'>>): Promise<void>;
  touch(uid: string, lastUsedAt: string): Promise<void>;
  delete(uid: string): Promise<boolean>;
}

export interface PublicKeyRecord {
  id: string;
  projectId: string;
  ownerId: string;
  name: string;
  keyType: string;
  publicKey: string;
  createdAt: string;
}

export interface PublicKeyRepository {
  /** As KeySetRepository.lockUser, for one owner's public keys (the per-owner cap). */
  lockOwner(projectId: string, ownerId: string): Promise<void>;
  insert(key: PublicKeyRecord): Promise<void>;
  get(projectId: string, id: string): Promise<PublicKeyRecord | undefined>;
  findByName(projectId: string, ownerId: string, name: string): Promise<PublicKeyRecord | undefined>;
  list(query: { projectId: string; ownerId?: string; offset: number; limit: number }): Promise<{ items: PublicKeyRecord[]; total: number }>;
  delete(projectId: string, id: string): Promise<boolean>;
}

/** A user's device-list version: strictly increasing per user, never reset (no row = version 0). */
export interface DeviceListState {
  version: number;
  /** Signed pre-key expiries up to this instant are already counted in `version` (null: none yet). */
  expiriesSeenAt: string | null;
}

export interface DeviceListRepository {
  get(projectId: string, userId: string): Promise<DeviceListState | undefined>;
  /**
   * Adds one to the user's version and returns the new one; `expiriesSeenAt` only moves forward.
   * On PostgreSQL the user's row stays locked until the transaction ends, so versions follow commit order.
   */
  bump(projectId: string, userId: string, expiriesSeenAt: string): Promise<number>;
}

export interface SettingsRepository {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
}

export interface StoreTx {
  keySets: KeySetRepository;
  oneTimePreKeys: OneTimePreKeyRepository;
  backups: BackupRepository;
  sessions: SessionRepository;
  audit: AuditRepository;
  events: EventRepository;
  apiKeys: ApiKeyRepository;
  publicKeys: PublicKeyRepository;
  settings: SettingsRepository;
  deviceLists: DeviceListRepository;
  transparency: TransparencyRepository;
}

export type * from './transparency-types.ts';
import type { TransparencyRepository } from './transparency-types.ts';

/** Fixed-window counters for rate limits (in memory for one instance, shared for several). */
export interface Counters {
  /** Adds `cost` to the counter `key` in the window of `windowMs` containing `now`; returns the new count and when the window ends. */
  hit(key: string, windowMs: number, now: number, cost?: number): Promise<{ count: number; resetAt: number }>;
  /** Current count without adding. */
  peek(key: string, windowMs: number, now: number): Promise<number>;
}

export interface Store {
  readonly kind: 'sqljs' | 'postgres';
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Called with the events of each transaction once it is durable, in commit order (and, on PostgreSQL, with events committed by other instances). */
  onEvents(listener: (events: StoredEvent[]) => void): () => void;
  /**
   * Called with the uids of API keys whose rights a transaction changed (revoked, ACL, userIds,
   * deleted) once it is durable and before `transaction()` resolves; on PostgreSQL also for other
   * instances' changes, and with null when some may have been missed (re-check every key).
   */
  onApiKeyChanges(listener: (uids: readonly string[] | null) => void): () => void;
  counters: Counters;
  isReady(): boolean;
  /**
   * Writes a consistent standalone copy of the database (embedded backend only): the file and its
   * blob directory beside it (`<path>.blobs`), or with `selfContained` one file carrying the blobs.
   */
  snapshotTo?(path: string, options?: { selfContained?: boolean }): Promise<void>;
  /** Backend figures for metrics (journal size, LSN…). */
  stats?(): Record<string, number>;
  close(): Promise<void>;
}
