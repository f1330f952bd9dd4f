/**
 * The public-key directory (seed 002): named long-term public keys per owner — device signing
 * keys, IoT gateways, document signing — beside the pre-key bundles. Reads are open to any key
 * with `publicKeys.read`; writes are limited to the owners the caller may act as.
 */
import { decodeHex, encodeHex } from '../../packages/client/src/core/encoding.ts';
import { InvalidPublicKey, type KeyTypeName, publicKeyTypes } from '../crypto/key-types.ts';
import type { PublicKeyRecord, StoreTx } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError, invalid } from './errors.ts';
import { offsetOf, type PageRequest, paginate } from './pagination.ts';
import { type Caller, requireActAs } from './principal.ts';
import { requirePublicKeyRoom } from './quotas.ts';

export interface PublicKeyInput {
  ownerId: string;
  name: string;
  keyType: KeyTypeName;
}

export interface ImportInput extends PublicKeyInput {
  publicKey: string;
}

export interface ListInput extends PageRequest {
  ownerId?: string;
}

const resource = 'PUBLIC_KEY';

/** What clients see: the seed's fields plus `createdAt` (the project stays implicit). */
export function publicKeyView(key: PublicKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    publicKey: key.publicKey,
    keyType: key.keyType,
    ownerId: key.ownerId,
    createdAt: key.createdAt,
  };
}

/** Opaque ids: 12 random bytes as 24 hex characters, like the seed's. */
const newPublicKeyId = (): string => encodeHex(crypto.getRandomValues(new Uint8Array(12)));

function canonicalPublicKey(keyType: KeyTypeName, publicKey: string): string {
  const bytes = decodeHex(publicKey);
  if (!bytes || bytes.length === 0) throw invalid('publicKey', 'must be hex');
  try {
    return encodeHex(publicKeyTypes[keyType].canonicalize(bytes));
  } catch (error) {
    if (error instanceof InvalidPublicKey) throw invalid('publicKey', error.message);
    throw error;
  }
}

/** The transaction's first lock: the name check and the per-owner cap then hold until the insert. */
async function insertUnique(deps: Deps, tx: StoreTx, caller: Caller, now: Date, input: PublicKeyInput, publicKey: string) {
  await tx.publicKeys.lockOwner(caller.projectId, input.ownerId);
  if (await tx.publicKeys.findByName(caller.projectId, input.ownerId, input.name)) {
    throw new AppError('CONFLICT', `Owner ${input.ownerId} already has a key named ${input.name}`);
  }
  await requirePublicKeyRoom(deps, tx, caller.projectId, input.ownerId);
  const record: PublicKeyRecord = {
    id: newPublicKeyId(),
    projectId: caller.projectId,
    ownerId: input.ownerId,
    name: input.name,
    keyType: input.keyType,
    publicKey,
    createdAt: now.toISOString(),
  };
  await tx.publicKeys.insert(record);
  return record;
}

export async function importPublicKey(deps: Deps, caller: Caller, input: ImportInput) {
  requireActAs(caller.principal, input.ownerId);
  const publicKey = canonicalPublicKey(input.keyType, input.publicKey);
  const details = { name: input.name, keyType: input.keyType };
  const failure = { action: 'PUBLIC_KEY_ADDED', resource, userId: input.ownerId, details } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const record = await insertUnique(deps, tx, caller, now, input, publicKey);
      await appendAudit(tx, caller, now, { ...failure, details: { ...details, id: record.id } });
      return publicKeyView(record);
    }),
  );
}

/**
 * Server-side key generation: the one place the server ever holds a private key. It is off
 * unless the operator opted in, returned once to the caller, and never stored, audited or
 * logged; the bytes are wiped once encoded (the returned string cannot be).
 */
export async function generatePublicKey(deps: Deps, caller: Caller, input: PublicKeyInput) {
  if (!deps.settings.allowServerKeygen) {
    throw new AppError(
      'FORBIDDEN',
      'Server-side key generation is disabled: the server must be started with --allow-server-keygen (PREKEYD_ALLOW_SERVER_KEYGEN=true). Generate the key pair on the client and import its public key with POST /v1/public-keys instead.',
    );
  }
  requireActAs(caller.principal, input.ownerId);
  const details = { name: input.name, keyType: input.keyType };
  const failure = { action: 'PUBLIC_KEY_GENERATED', resource, userId: input.ownerId, details } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const pair = publicKeyTypes[input.keyType].generate();
      try {
        const now = deps.clock.now();
        const record = await insertUnique(deps, tx, caller, now, input, encodeHex(pair.publicKey));
        await appendAudit(tx, caller, now, { ...failure, details: { ...details, id: record.id } });
        return { key: publicKeyView(record), privateKey: encodeHex(pair.privateKey) };
      } finally {
        pair.privateKey.fill(0);
      }
    }),
  );
}

export async function deletePublicKey(deps: Deps, caller: Caller, id: string): Promise<void> {
  await deps.store.transaction(async (tx) => {
    const key = await tx.publicKeys.get(caller.projectId, id);
    if (!key) throw new AppError('NOT_FOUND', `No public key ${id}`);
    requireActAs(caller.principal, key.ownerId);
    await tx.publicKeys.delete(caller.projectId, id);
    const details = { id, name: key.name, keyType: key.keyType };
    await appendAudit(tx, caller, deps.clock.now(), { action: 'PUBLIC_KEY_DELETED', resource, userId: key.ownerId, details });
  });
}

export async function getPublicKey(deps: Deps, caller: Caller, id: string) {
  const key = await deps.store.transaction((tx) => tx.publicKeys.get(caller.projectId, id));
  if (!key) throw new AppError('NOT_FOUND', `No public key ${id}`);
  return publicKeyView(key);
}

export async function listPublicKeys(deps: Deps, caller: Caller, input: ListInput) {
  const { items, total } = await deps.store.transaction((tx) =>
    tx.publicKeys.list({ projectId: caller.projectId, ownerId: input.ownerId, offset: offsetOf(input), limit: input.limit }),
  );
  return { data: items.map(publicKeyView), pagination: paginate(input, total) };
}
