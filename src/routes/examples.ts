/**
 * Sample values of the API documents (seeds 000-004), made valid: the seeds elide keys
 * ("a1b2c3d4...64_hex_chars"), so these keep each visible prefix where a real key can have it
 * and are real key material otherwise. The example identity key (its private half was thrown
 * away after signing) signed both signed pre-keys, so the documented register and rotate
 * bodies are accepted as they stand; `test/ops/openapi-examples.test.ts` sends them.
 */

/** Seed 004's `/v1/keys` key material: Ed25519 identity key, X25519 pre-keys, hex. */
export const v1Keys = {
  identityKey: 'a1b239ff5f04fa605e2b441c323fa8029aa942221dcf0bbcace164056b362f90',
  signedPreKey: {
    keyId: 'spk_a1b2c3d4e5f6g7h8',
    publicKey: 'f1e2d3c45e7160b65edd9b87452acfb63a02431ab660acf7e3ca391e64fce21d',
    signature: '7b834e5bef318ce3596e77fbb0069302f75978ca67039cb07d54822142eee579dd4bf82d3cc060d571f5e9944a856a78f8a62c9134a1451fd0334ee8962fd10d',
  },
  rotatedSignedPreKey: {
    keyId: 'spk_new_001',
    publicKey: 'bb11cc22ee55b8eea328e5d828d14ee47c262a11c4b95956bf74adf70fe59892',
    signature: 'e7ba959dae0012d33a7ffd74bced576fe6fae376b5c3ae2bb60949c5453a337914e8b2f7fb168b9777566f8b55f8cd87710eea9fc898724d02a1b5dc6ee0b908',
  },
  oneTimePreKeys: {
    opk_001: '11aa22bb6c7a21bb831a66e6aa3d118e3861a5789c4208dc19d8613d4441b302',
    opk_002: '44dd55ee26f5771f3c98b21e650df1911890e5529f5150d7aed8b0f3cabdd2db',
    opk_003: '7700118818b424cd51c0cfedbcfff06c7192694dbdb570667cd47fba3e171c06',
    opk_050: 'aa00bb11dc831d9be652cf7a6c89b2fcc6bf531230f1cefb47d9cc71be4c0a2f',
  },
  /** Another user's (the shared-secret initiator's) identity key. */
  initiatorIdentityKey: 'c9acce066b805c8efdbcb9f5e22e2c8628aa64eaaf0be5b909a2fdfafa4ef9c7',
  initiatorEphemeralKey: 'cc11dd22fb0a57794723cf2c50cd4337b02856c213fbb29f1c8296352df7f645',
  /** The seed's own fingerprint sample (16 hex characters). */
  identityKeyFingerprint: 'a1b2c3d4e5f6a1b2',
  sessionId: 'sess_a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4',
} as const;

/** Seed 004's backup: "YWJjZGVm" is base64 of "abcdef"; the checksum is its SHA-256. */
export const backupSample = {
  encryptedBundle: 'YWJjZGVm',
  checksum: 'bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721',
  encryptionMetadata: {
    algorithm: 'argon2id+aes-256-gcm',
    argon2Params: { timeCost: 3, memoryCost: 65536, parallelism: 4 },
    nonce: 'a1b2c3d4e5f6a1b2c3d4e5f6',
    salt: 'f1e2d3c4b5a6f1e2d3c4b5a6f1e2d3c4',
  },
} as const;

/** Audit hash chain links (SHA-256, hex). */
export const auditHashes = {
  previous: '3e5ac985d63c5d475144095dddfaf813ccfe34b3a366de9d40bf5fc53d585d34',
  head: '8c55d42f4165246a5c47b294be2b00c3b975f6e8dfd0352dd35ea0a5d4ff4495',
} as const;

/**
 * Seed 000's PUT /v2/keys with libsignal keys (33-byte Curve25519 keys with type byte 0x05,
 * base64) and the seed's key ids; the signed pre-key carries a real XEdDSA signature by the
 * identity key.
 */
export const signalKeys = {
  identifier: '+16044401234',
  identityKey: 'BRnQNCC4OvQAn4RI2tFYqCfGtvg+OEPR18xPPHXcaB8Z',
  signedPreKey: {
    keyId: 1,
    publicKey: 'BSmV7rkIJteqJWSAWSdvOxeQswXSrj/71ICfLe/ITQQi',
    signature: 'Nv39f1MyxNYB8bZ5+itW8AAouv0tv48hBef4yBufZ0lAXGflFjxxf0RipWu4wjMivVfrwS+MZ8wCu04IaJCCCw==',
  },
  preKeys: [
    { keyId: 1, publicKey: 'BaqQ50WO6ULVfLFXi3gHFqDc0Yzy+S+KL0s8aO50+ZNh' },
    { keyId: 100, publicKey: 'BcXvWd9X1QoKFMnH58sCbn2Ah90nO/SmY/t++SnUfjhA' },
  ],
  lastResortKey: { keyId: 123, publicKey: 'Be3MIqYogiLtHywkH8jP4P80ApSiFRvOzdlEM5HMqjNb' },
  digest: 'CZdHfVz0DhSmri2/xW0/FU+NInAMuaILuT/HT45+X4c=',
} as const;

/** Seed 003's key, in prekeyd's format (`pkd_` + base62 + checksum; uid `key_` + 22 base62). */
export const apiKeySample = {
  uid: 'key_VO6UTDBW5S4YJCL17KAXNZ',
  key: 'pkd_0WEJVFD972U6SB3KYRCXINOMHQTP51L8AZG4CoW0DBs2ooAXJ',
  prefix: 'pkd_0WEJVFD9',
} as const;

/**
 * Seed 002's P-256 keys, uncompressed hex. `imported` is a curve point with the seed's visible
 * prefix; `generated` is the public key of `generatedPrivate` (which keeps the seed's prefix).
 */
export const p256Sample = {
  id: '5f7b5f7b5f7b5f7b5f7b5f7b',
  ownerId: '5f7b5f7b5f7b5f7b5f7b5f7b',
  imported: '041390c54ff7e57da389865adab20f061ca325bb2a5fafdbc5ce41c0cfd452c5d8b78a8dea5122214f2dd190c1007ac411840e4b12d20251b29ad6498d8d96217c',
  generated: '04e16d68801d9b27e2b3dc0e609536858ac7e8c55d54b091b2fe263a3d5e1f95eb27241c38f7fbf6d9c31b1c28f54bb2c341e26ba3e68817245c8bb3abf6def7bd',
  generatedPrivate: '6dab5e2ab44552f26d716dfe4a4d9815abaaa45beb68a1dc0106780ccf22d365',
} as const;
