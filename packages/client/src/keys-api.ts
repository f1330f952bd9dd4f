/** `client.keys`: the `/v1/keys/*` API, with key generation, X3DH and backups done client-side. */
import { decryptBackup, type DecryptBackupOptions, encryptBackup, type EncryptBackupOptions } from './backup.ts';
import type { Query, Transport } from './http.ts';
import {
  type GenerateKeySetOptions,
  generateKeySet,
  generateOneTimePreKeys,
  generatePqLastResortPreKey,
  generatePqOneTimePreKeys,
  generateSignedPreKey,
} from './keygen.ts';
import { verifyPqPreKey } from './pqxdh.ts';
import { type AcceptOptions, acceptSharedSecret, type EstablishOptions, establishSharedSecret, type IdentityKeyInput } from './sessions.ts';
import type {
  AuditChainReport,
  AuditEntry,
  AuditQuery,
  BackupResult,
  CompletedSession,
  GeneratedKeySet,
  KeyBundle,
  KeySetSummary,
  ListKeysQuery,
  Page,
  Pagination,
  PrivateKeys,
  RecoveredBackup,
  RegisterResult,
  RegistrationPayload,
  RevokeResult,
  RotateRequest,
  RotateResult,
  SessionView,
  SharedSecretResponse,
  SuspensionResult,
  VerifyResult,
} from './types.ts';
import { verifyBundle } from './x3dh.ts';
import type { TransparencyVerifier } from './transparency.ts';

export interface DeviceOption {
  /** The device's key set (default: the server's default device). */
  deviceId?: string;
}

export interface ReplenishOptions extends DeviceOption {
  /**
   * Called with the new secrets BEFORE they are uploaded: persist them here, so that no
   * published pre-key is ever without its secret (a crash after the upload loses nothing).
   */
  store?: (oneTimePreKeys: Record<string, string>) => void | Promise<void>;
}

export interface ReplenishResult {
  result: RotateResult;
  /** The new one-time pre-key secrets by keyId: merge them into your stored private keys. */
  oneTimePreKeys: Record<string, string>;
}

export interface ReplenishPqOptions extends DeviceOption {
  /** Called with the new ML-KEM seeds BEFORE they are uploaded: persist them (merge into pqOneTimePreKeys). */
  store?: (pqOneTimePreKeys: Record<string, string>) => void | Promise<void>;
}

export interface ReplenishPqResult {
  result: RotateResult;
  pqOneTimePreKeys: Record<string, string>;
}

export interface RotateSignedPreKeyOptions extends DeviceOption {
  /** Also replace the last-resort pre-key. */
  lastResort?: boolean;
  /** Also replace the ML-KEM last-resort pre-key (the old one is kept in previousPqLastResortPreKeys). */
  pqLastResort?: boolean;
  /** Also upload this many new one-time pre-keys. */
  oneTimePreKeys?: number;
}

export interface SignedPreKeyRotation {
  result: RotateResult;
  /** The updated private keys (new signed pre-key; the old one kept in previousSignedPreKeys): store them. */
  privateKeys: PrivateKeys;
}

export interface RecoveredKeys {
  privateKeys: PrivateKeys;
  version: number;
  backedUpAt: string;
}

const userPath = (prefix: string, userId: string) => `${prefix}/${encodeURIComponent(userId)}`;

async function page<T>(transport: Transport, path: string, query: Query): Promise<Page<T>> {
  const answer = await transport.envelope<T[]>('GET', path, { query });
  return { data: answer.data, pagination: answer.pagination as Pagination };
}

export class KeysApi {
  constructor(
    private readonly transport: Transport,
    private readonly transparency?: TransparencyVerifier,
  ) {}

  /** Ed25519 identity key, signed X25519 pre-key, `count` one-time pre-keys (1-100), optional last-resort key; ML-KEM-1024 pre-keys unless `postQuantum: false`. */
  generateKeySet(count = 20, options: GenerateKeySetOptions = {}): GeneratedKeySet {
    return generateKeySet(count, options);
  }

  registerKeys(userId: string, payload: RegistrationPayload, options: { deviceId?: string; deviceName?: string } = {}): Promise<RegisterResult> {
    const { deviceId, deviceName } = options;
    const body = { userId, ...payload, ...(deviceId !== undefined && { deviceId }), ...(deviceName !== undefined && { deviceName }) };
    return this.transport.request('POST', '/v1/keys/register', { body });
  }

  /** Fetches a bundle (consuming a one-time pre-key of each kind) and refuses it unless its signatures verify. */
  async getBundle(userId: string, options: DeviceOption = {}): Promise<KeyBundle> {
    const bundle = await this.transport.request<KeyBundle>('GET', userPath('/v1/keys/bundle', userId), { query: { ...options } });
    verifyBundle(bundle);
    // The log first: a key set the log never published is reported as such, whatever else it fails.
    await this.transparency?.checkKeys(bundle.transparency, { ...bundle, deviceId: bundle.deviceId });
    if (bundle.pqPreKey) verifyPqPreKey(bundle.identityKey, bundle.pqPreKey);
    return bundle;
  }

  /** `POST /v1/keys/rotate` with a body you built; see rotateSignedPreKey and replenish for the usual cases. */
  rotate(request: RotateRequest): Promise<RotateResult> {
    return this.transport.request('POST', '/v1/keys/rotate', { body: request });
  }

  /** Generates and uploads `count` new one-time pre-keys (1-100). */
  async replenish(userId: string, count: number, options: ReplenishOptions = {}): Promise<ReplenishResult> {
    const { preKeys, privateKeys } = generateOneTimePreKeys(count);
    await options.store?.(privateKeys);
    const result = await this.rotate({ userId, ...deviceOf(options), newOneTimePreKeys: preKeys });
    return { result, oneTimePreKeys: privateKeys };
  }

  /** Generates, signs and uploads `count` new ML-KEM-1024 one-time pre-keys (1-100); signing needs the identity private key. */
  async replenishPq(userId: string, count: number, identityPrivateKey: string, options: ReplenishPqOptions = {}): Promise<ReplenishPqResult> {
    const { pqPreKeys, privateKeys } = generatePqOneTimePreKeys(identityPrivateKey, count);
    await options.store?.(privateKeys);
    const result = await this.rotate({ userId, ...deviceOf(options), newPqOneTimePreKeys: pqPreKeys });
    return { result, pqOneTimePreKeys: privateKeys };
  }

  /** Generates a new signed pre-key (and optionally last-resort and one-time pre-keys), signs and uploads it. */
  async rotateSignedPreKey(userId: string, privateKeys: PrivateKeys, options: RotateSignedPreKeyOptions = {}): Promise<SignedPreKeyRotation> {
    const signed = generateSignedPreKey(privateKeys.identityKey);
    const lastResort = options.lastResort ? generateSignedPreKey(privateKeys.identityKey, 'lrk') : undefined;
    const oneTime = options.oneTimePreKeys ? generateOneTimePreKeys(options.oneTimePreKeys) : undefined;
    const pqLastResort = options.pqLastResort ? generatePqLastResortPreKey(privateKeys.identityKey) : undefined;
    const result = await this.rotate({
      userId,
      ...deviceOf(options),
      newSignedPreKey: signed.signedPreKey,
      ...(oneTime && { newOneTimePreKeys: oneTime.preKeys }),
      ...(lastResort && { newLastResortPreKey: lastResort.signedPreKey }),
      ...(pqLastResort && { newPqLastResortPreKey: pqLastResort.pqPreKey }),
    });
    const updated: PrivateKeys = {
      ...privateKeys,
      signedPreKey: signed.keyPair,
      previousSignedPreKeys: [privateKeys.signedPreKey, ...(privateKeys.previousSignedPreKeys ?? [])],
      oneTimePreKeys: { ...privateKeys.oneTimePreKeys, ...oneTime?.privateKeys },
      ...(lastResort && {
        lastResortPreKey: lastResort.keyPair,
        previousLastResortPreKeys: [...(privateKeys.lastResortPreKey ? [privateKeys.lastResortPreKey] : []), ...(privateKeys.previousLastResortPreKeys ?? [])],
      }),
      ...(pqLastResort && {
        pqLastResortPreKey: pqLastResort.keyPair,
        previousPqLastResortPreKeys: [
          ...(privateKeys.pqLastResortPreKey ? [privateKeys.pqLastResortPreKey] : []),
          ...(privateKeys.previousPqLastResortPreKeys ?? []),
        ],
      }),
    };
    return { result, privateKeys: updated };
  }

  /** Irreversible. Without `deviceId` every device of the user is revoked. */
  revoke(userId: string, options: { deviceId?: string; reason?: string } = {}): Promise<RevokeResult> {
    return this.transport.request('POST', '/v1/keys/revoke', { body: { userId, ...options } });
  }

  suspend(userId: string, options: { deviceId?: string; reason?: string } = {}): Promise<SuspensionResult> {
    return this.transport.request('POST', '/v1/keys/suspend', { body: { userId, ...options } });
  }

  unsuspend(userId: string, options: DeviceOption = {}): Promise<SuspensionResult> {
    return this.transport.request('POST', '/v1/keys/unsuspend', { body: { userId, ...options } });
  }

  verify(userId: string, options: DeviceOption = {}): Promise<VerifyResult> {
    return this.transport.request('GET', userPath('/v1/keys/verify', userId), { query: { ...options } });
  }

  list(query: ListKeysQuery = {}): Promise<Page<KeySetSummary>> {
    return page(this.transport, '/v1/keys/list', { ...query });
  }

  audit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return page(this.transport, '/v1/keys/audit', { ...query });
  }

  /** Asks the server to walk the audit hash chain. */
  verifyAuditChain(): Promise<AuditChainReport> {
    return this.transport.request('GET', '/v1/keys/audit/verify');
  }

  /** Encrypts the private keys with the password (Argon2id + AES-256-GCM) and stores the blob as a new backup version. */
  async backup(userId: string, privateKeys: PrivateKeys, password: string, options: EncryptBackupOptions = {}): Promise<BackupResult> {
    const body = await encryptBackup(userId, privateKeys, password, options);
    return this.transport.request('POST', '/v1/keys/backup', { body });
  }

  /** Fetches the latest (or a given) backup version and decrypts it; a wrong password throws WRONG_PASSWORD. */
  async recover(userId: string, password: string, options: DecryptBackupOptions & { version?: number } = {}): Promise<RecoveredKeys> {
    const { version, ...decryptOptions } = options;
    const body = { userId, ...(version !== undefined && { version }) };
    const backup = await this.transport.request<RecoveredBackup>('POST', '/v1/keys/recover', { body });
    const privateKeys = await decryptBackup(backup, password, decryptOptions);
    return { privateKeys, version: backup.version, backedUpAt: backup.backedUpAt };
  }

  /** The initiator's X3DH (seed 004's example): a fresh ephemeral key, the responder's verified bundle, SK. */
  establishSharedSecret(initiatorUserId: string, responderUserId: string, initiatorKeys: IdentityKeyInput, options: EstablishOptions = {}) {
    const check = (bundle: SharedSecretResponse['responderBundle']) =>
      this.transparency?.checkKeys(bundle.transparency, { ...bundle, userId: responderUserId, deviceId: options.responderDeviceId }) ?? Promise.resolve();
    return establishSharedSecret(this.transport, initiatorUserId, responderUserId, initiatorKeys, options, check);
  }

  /** The responder's X3DH: reads the session, derives the same SK, and (by default) completes the session. */
  acceptSharedSecret(sessionId: string, responderKeys: PrivateKeys, options: AcceptOptions = {}) {
    return acceptSharedSecret(this.transport, sessionId, responderKeys, options);
  }

  getSession(sessionId: string): Promise<SessionView> {
    return this.transport.request('GET', `/v1/keys/shared-secret/${encodeURIComponent(sessionId)}`);
  }

  completeSession(sessionId: string): Promise<CompletedSession> {
    return this.transport.request('POST', `/v1/keys/shared-secret/${encodeURIComponent(sessionId)}/complete`);
  }
}

const deviceOf = (options: DeviceOption) => (options.deviceId !== undefined ? { deviceId: options.deviceId } : {});
