/**
 * Checking what a `--transparency` server serves before using it: the checkpoint's signature by
 * the log (and a quorum of witness cosignatures), the inclusion proof of the leaf, consistency
 * with the last checkpoint this client stored for the log, and that the leaf describes exactly
 * the keys served. Each failure is a PrekeydError with its own code (see errors.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeBase64, decodeHex, encodeHex } from './bytes.ts';
import { type Checkpoint, parseCheckpoint } from './transparency/checkpoint.ts';
import { verifyCosignature } from './transparency/cosignature.ts';
import { decodeLeaf, type KeySetLeaf, type Leaf } from './transparency/leaf.ts';
import { leafHash, sameHash, verifyConsistency, verifyInclusion } from './transparency/merkle.ts';
import { openNote, parseNote, parseVerifierKey, type VerifierKey } from './transparency/note.ts';
import { PrekeydError } from './errors.ts';
import type { Transport } from './http.ts';
import type { TransparencyProof } from './transparency-types.ts';

/** Where verified checkpoints and pinned log keys are kept between runs (default: in memory). */
export interface CheckpointStore {
  get(key: string): string | undefined | null | Promise<string | undefined | null>;
  set(key: string, value: string): void | Promise<void>;
}

export interface TransparencyOptions {
  /** Refuse answers without a proof (default false: answers from servers without --transparency pass). */
  required?: boolean;
  /** Log verifier keys to trust. Without them the key a log first presents is pinned in `store` (trust on first use). */
  logKeys?: string[];
  /** Witness (cosignature/v1) verifier keys, and how many of them must have cosigned a checkpoint (default: all listed). */
  witnesses?: string[];
  quorum?: number;
  store?: CheckpointStore;
}

export interface ServedKeys {
  userId: string;
  deviceId?: string;
  identityKey: string;
  signedPreKey: { keyId: string; publicKey: string };
  lastResortPreKey?: { keyId: string; publicKey: string };
}

export interface VerifiedProof {
  checkpoint: Checkpoint;
  leaf: Leaf;
}

const fail = (code: 'TRANSPARENCY_INVALID' | 'TRANSPARENCY_INCONSISTENT' | 'TRANSPARENCY_MISMATCH', message: string, cause?: unknown) =>
  new PrekeydError(code, message, cause === undefined ? {} : { cause });

function memoryStore(): CheckpointStore {
  const values = new Map<string, string>();
  return { get: (key) => values.get(key), set: (key, value) => void values.set(key, value) };
}

const hashOf = (hex: string): string => encodeHex(sha256(decodeHex(hex) ?? new Uint8Array(0)));

export class TransparencyVerifier {
  private readonly store: CheckpointStore;
  private readonly logKeys: VerifierKey[] | undefined;
  private readonly witnesses: VerifierKey[];
  private readonly quorum: number;

  constructor(
    private readonly transport: Transport,
    readonly options: TransparencyOptions = {},
  ) {
    this.store = options.store ?? memoryStore();
    try {
      this.logKeys = options.logKeys?.map(parseVerifierKey);
      this.witnesses = (options.witnesses ?? []).map(parseVerifierKey);
    } catch (cause) {
      throw new PrekeydError('INVALID_ARGUMENT', `transparency: ${(cause as Error).message}`, { cause });
    }
    this.quorum = options.quorum ?? this.witnesses.length;
    if (this.quorum > this.witnesses.length) throw new PrekeydError('INVALID_ARGUMENT', 'transparency.quorum exceeds the witnesses given');
  }

  /** Checks a served key set against its proof; an answer without one passes unless `required`. */
  async checkKeys(proof: TransparencyProof | undefined, served: ServedKeys): Promise<void> {
    if (!proof) {
      if (this.options.required) throw new PrekeydError('TRANSPARENCY_MISSING', `The answer for ${served.userId} carries no transparency proof`);
      return;
    }
    const { leaf } = await this.checkProof(proof);
    if (leaf.event === 'anchor') throw fail('TRANSPARENCY_MISMATCH', 'The proof is for an anchor, not for keys');
    const keys = leaf as KeySetLeaf;
    const lastResort = served.lastResortPreKey;
    const matches =
      keys.event !== 'key-set.revoked' &&
      keys.keyFormat === 'v1' &&
      keys.userId === served.userId &&
      (served.deviceId === undefined || keys.deviceId === served.deviceId) &&
      keys.identityKey === hashOf(served.identityKey) &&
      keys.signedPreKey.keyId === served.signedPreKey.keyId &&
      keys.signedPreKey.hash === hashOf(served.signedPreKey.publicKey) &&
      (lastResort === undefined || (keys.lastResortPreKey?.keyId === lastResort.keyId && keys.lastResortPreKey.hash === hashOf(lastResort.publicKey)));
    if (!matches) {
      throw fail('TRANSPARENCY_MISMATCH', `The keys served for ${served.userId} are not the ones the transparency log published (leaf ${proof.leafIndex})`);
    }
  }

  /** Signature, witness quorum, inclusion, and consistency with the stored checkpoint of the log. */
  async checkProof(proof: TransparencyProof): Promise<VerifiedProof> {
    let leafBytes: Uint8Array;
    let leaf: Leaf;
    let checkpoint: Checkpoint;
    let text: string;
    try {
      leafBytes = decodeBase64(proof.leaf) ?? new Uint8Array(0);
      leaf = decodeLeaf(leafBytes);
      text = parseNote(proof.checkpoint).text;
      checkpoint = parseCheckpoint(text);
    } catch (cause) {
      throw fail('TRANSPARENCY_INVALID', `Malformed transparency proof: ${(cause as Error).message}`, cause);
    }
    const keys = await this.keysFor(checkpoint.origin, leaf.projectId);
    let signatures: ReturnType<typeof openNote>['signatures'];
    try {
      signatures = openNote(proof.checkpoint, keys).signatures;
    } catch (cause) {
      throw fail('TRANSPARENCY_INVALID', `The checkpoint of ${checkpoint.origin} is not signed by its log key`, cause);
    }
    const cosigned = this.witnesses.filter((witness) => signatures.some((signature) => verifyCosignature(witness, text, signature) !== undefined));
    if (cosigned.length < this.quorum) {
      throw fail('TRANSPARENCY_INVALID', `The checkpoint has ${cosigned.length} valid witness cosignatures; ${this.quorum} required`);
    }
    try {
      const path = proof.inclusionProof.map((hash) => decodeBase64(hash) ?? new Uint8Array(0));
      verifyInclusion(leafHash(leafBytes), proof.leafIndex, checkpoint.size, path, checkpoint.rootHash);
    } catch (cause) {
      throw fail('TRANSPARENCY_INVALID', `The inclusion proof of leaf ${proof.leafIndex} does not verify`, cause);
    }
    await this.checkConsistency(checkpoint, leaf.projectId, proof.checkpoint);
    return { checkpoint, leaf };
  }

  /** The configured log keys, or the one pinned for this origin (fetched and pinned on first use). */
  private async keysFor(origin: string, projectId: string): Promise<VerifierKey[]> {
    if (this.logKeys) return this.logKeys;
    const pinKey = `prekeyd:log-key:${origin}`;
    let vkey = (await this.store.get(pinKey)) ?? undefined;
    if (!vkey) {
      vkey = (await this.transport.text(`/v1/transparency/${encodeURIComponent(projectId)}/key`)).trim();
      await this.store.set(pinKey, vkey);
    }
    try {
      return [parseVerifierKey(vkey)];
    } catch (cause) {
      throw fail('TRANSPARENCY_INVALID', `The log key of ${origin} is malformed`, cause);
    }
  }

  private async checkConsistency(checkpoint: Checkpoint, projectId: string, note: string): Promise<void> {
    const storeKey = `prekeyd:checkpoint:${checkpoint.origin}`;
    const storedNote = await this.store.get(storeKey);
    const stored = storedNote ? parseCheckpoint(parseNote(storedNote).text) : undefined;
    if (stored) {
      const [older, newer] = stored.size <= checkpoint.size ? [stored, checkpoint] : [checkpoint, stored];
      const forked = () =>
        fail(
          'TRANSPARENCY_INCONSISTENT',
          `Checkpoints of ${checkpoint.origin} at sizes ${older.size} and ${newer.size} are not consistent: the log forked or rolled back`,
        );
      if (older.size === newer.size) {
        if (!sameHash(older.rootHash, newer.rootHash)) throw forked();
      } else if (older.size > 0) {
        const answer = await this.transport.request<{ consistencyProof: string[] }>(
          'GET',
          `/v1/transparency/${encodeURIComponent(projectId)}/proof/consistency`,
          { query: { from: older.size, to: newer.size } },
        );
        try {
          const proof = answer.consistencyProof.map((hash) => decodeBase64(hash) ?? new Uint8Array(0));
          verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash);
        } catch (cause) {
          throw Object.assign(forked(), { cause });
        }
      }
      if (stored.size >= checkpoint.size) return;
    }
    await this.store.set(storeKey, note);
  }
}
