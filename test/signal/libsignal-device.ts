/**
 * A Signal device built on `@signalapp/libsignal-client` with in-memory stores: it makes its keys
 * the way a Signal client does, turns them into the JSON of PUT /v2/keys, builds a libsignal
 * PreKeyBundle from GET /v2/keys JSON, and encrypts / decrypts real Signal messages.
 */
import * as Signal from '@signalapp/libsignal-client';

export const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
export const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
const addressKey = (address: Signal.ProtocolAddress) => `${address.name()}.${address.deviceId()}`;

class MemorySessions extends Signal.SessionStore {
  private readonly sessions = new Map<string, Signal.SessionRecord>();
  async saveSession(address: Signal.ProtocolAddress, record: Signal.SessionRecord) {
    this.sessions.set(addressKey(address), record);
  }
  async getSession(address: Signal.ProtocolAddress) {
    return this.sessions.get(addressKey(address)) ?? null;
  }
  async getExistingSessions(addresses: Signal.ProtocolAddress[]) {
    return addresses.map((address) => this.sessions.get(addressKey(address))!);
  }
}

class MemoryIdentities extends Signal.IdentityKeyStore {
  private readonly known = new Map<string, Signal.PublicKey>();
  constructor(
    private readonly identity: Signal.IdentityKeyPair,
    private readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey() {
    return this.identity.privateKey;
  }
  async getLocalRegistrationId() {
    return this.registrationId;
  }
  async saveIdentity(address: Signal.ProtocolAddress, key: Signal.PublicKey) {
    const previous = this.known.get(addressKey(address));
    this.known.set(addressKey(address), key);
    return previous && !previous.equals(key) ? Signal.IdentityChange.ReplacedExisting : Signal.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity() {
    return true;
  }
  async getIdentity(address: Signal.ProtocolAddress) {
    return this.known.get(addressKey(address)) ?? null;
  }
}

class MemoryPreKeys extends Signal.PreKeyStore {
  readonly keys = new Map<number, Signal.PreKeyRecord>();
  async savePreKey(id: number, record: Signal.PreKeyRecord) {
    this.keys.set(id, record);
  }
  async getPreKey(id: number) {
    const record = this.keys.get(id);
    if (!record) throw new Error(`no pre-key ${id}`);
    return record;
  }
  async removePreKey(id: number) {
    this.keys.delete(id);
  }
}

class MemorySignedPreKeys extends Signal.SignedPreKeyStore {
  readonly keys = new Map<number, Signal.SignedPreKeyRecord>();
  async saveSignedPreKey(id: number, record: Signal.SignedPreKeyRecord) {
    this.keys.set(id, record);
  }
  async getSignedPreKey(id: number) {
    const record = this.keys.get(id);
    if (!record) throw new Error(`no signed pre-key ${id}`);
    return record;
  }
}

/** One-time Kyber keys are deleted once used; the last-resort one stays, as in Signal clients. */
class MemoryKyberPreKeys extends Signal.KyberPreKeyStore {
  readonly keys = new Map<number, Signal.KyberPreKeyRecord>();
  readonly lastResortIds = new Set<number>();
  async saveKyberPreKey(id: number, record: Signal.KyberPreKeyRecord) {
    this.keys.set(id, record);
  }
  async getKyberPreKey(id: number) {
    const record = this.keys.get(id);
    if (!record) throw new Error(`no kyber pre-key ${id}`);
    return record;
  }
  async markKyberPreKeyUsed(id: number) {
    if (!this.lastResortIds.has(id)) this.keys.delete(id);
  }
}

let nextKeyId = 1;

export interface UploadOptions {
  preKeys?: number;
  pqPreKeys?: number;
  /** Include the identity key (the first device of an account must). */
  identityKey?: boolean;
}

export class SignalDevice {
  readonly address: Signal.ProtocolAddress;
  readonly registrationId = 1 + Math.floor(Math.random() * 16_000);
  readonly sessions = new MemorySessions();
  readonly identities: MemoryIdentities;
  readonly preKeys = new MemoryPreKeys();
  readonly signedPreKeys = new MemorySignedPreKeys();
  readonly kyberPreKeys = new MemoryKyberPreKeys();

  constructor(
    readonly name: string,
    readonly deviceId: number,
    /** Devices of one account share its identity key pair. */
    readonly identity: Signal.IdentityKeyPair = Signal.IdentityKeyPair.generate(),
  ) {
    this.address = Signal.ProtocolAddress.new(name, deviceId);
    this.identities = new MemoryIdentities(identity, this.registrationId);
  }

  get identityKey(): string {
    return toBase64(this.identity.publicKey.serialize());
  }

  /** Basic credentials as a Signal client sends them. */
  basicAuth(apiKey: string, user = `${this.name}.${this.deviceId}`): Record<string, string> {
    return { authorization: `Basic ${btoa(`${user}:${apiKey}`)}` };
  }

  signedPreKey(signer: Signal.PrivateKey = this.identity.privateKey) {
    const keyId = nextKeyId++;
    const privateKey = Signal.PrivateKey.generate();
    const publicKey = privateKey.getPublicKey();
    const signature = signer.sign(publicKey.serialize());
    void this.signedPreKeys.saveSignedPreKey(keyId, Signal.SignedPreKeyRecord.new(keyId, Date.now(), publicKey, privateKey, signature));
    return { keyId, publicKey: toBase64(publicKey.serialize()), signature: toBase64(signature) };
  }

  preKey() {
    const keyId = nextKeyId++;
    const privateKey = Signal.PrivateKey.generate();
    void this.preKeys.savePreKey(keyId, Signal.PreKeyRecord.new(keyId, privateKey.getPublicKey(), privateKey));
    return { keyId, publicKey: toBase64(privateKey.getPublicKey().serialize()) };
  }

  kyberPreKey(lastResort = false) {
    const keyId = nextKeyId++;
    const keyPair = Signal.KEMKeyPair.generate();
    const signature = this.identity.privateKey.sign(keyPair.getPublicKey().serialize());
    void this.kyberPreKeys.saveKyberPreKey(keyId, Signal.KyberPreKeyRecord.new(keyId, Date.now(), keyPair, signature));
    if (lastResort) this.kyberPreKeys.lastResortIds.add(keyId);
    return { keyId, publicKey: toBase64(keyPair.getPublicKey().serialize()), signature: toBase64(signature) };
  }

  /** The body of PUT /v2/keys for a fresh device. */
  upload({ preKeys = 5, pqPreKeys = 5, identityKey = true }: UploadOptions = {}) {
    return {
      ...(identityKey && { identityKey: this.identityKey }),
      registrationId: this.registrationId,
      signedPreKey: this.signedPreKey(),
      preKeys: Array.from({ length: preKeys }, () => this.preKey()),
      pqPreKeys: Array.from({ length: pqPreKeys }, () => this.kyberPreKey()),
      pqLastResortPreKey: this.kyberPreKey(true),
    };
  }

  /** Starts a session from one device item of GET /v2/keys/:identifier/:deviceId. */
  async processBundle(response: { identityKey: string; devices: any[] }, item: any, peer: Signal.ProtocolAddress): Promise<void> {
    const bundle = Signal.PreKeyBundle.new(
      item.registrationId,
      item.deviceId,
      item.preKey ? item.preKey.keyId : null,
      item.preKey ? Signal.PublicKey.deserialize(fromBase64(item.preKey.publicKey)) : null,
      item.signedPreKey.keyId,
      Signal.PublicKey.deserialize(fromBase64(item.signedPreKey.publicKey)),
      fromBase64(item.signedPreKey.signature),
      Signal.PublicKey.deserialize(fromBase64(response.identityKey)),
      item.pqPreKey.keyId,
      Signal.KEMPublicKey.deserialize(fromBase64(item.pqPreKey.publicKey)),
      fromBase64(item.pqPreKey.signature),
    );
    await Signal.processPreKeyBundle(bundle, peer, this.address, this.sessions, this.identities);
  }

  async encrypt(peer: Signal.ProtocolAddress, text: string): Promise<Signal.CiphertextMessage> {
    return Signal.signalEncrypt(new Uint8Array(Buffer.from(text)), peer, this.address, this.sessions, this.identities);
  }

  /** Decrypts the first message of a session (a PreKeySignalMessage). */
  async decryptFirst(sender: Signal.ProtocolAddress, message: Signal.CiphertextMessage): Promise<string> {
    const preKeyMessage = Signal.PreKeySignalMessage.deserialize(message.serialize());
    const plaintext = await Signal.signalDecryptPreKey(
      preKeyMessage,
      sender,
      this.address,
      this.sessions,
      this.identities,
      this.preKeys,
      this.signedPreKeys,
      this.kyberPreKeys,
    );
    return Buffer.from(plaintext).toString();
  }
}
