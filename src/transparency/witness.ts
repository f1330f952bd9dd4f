/**
 * A minimal C2SP tlog-witness: `add-checkpoint` checks the log's signature, the old size
 * against the last cosigned one, and the consistency proof, then records the new checkpoint
 * and answers a cosignature/v1 line. The caller persists the new state before answering and
 * runs requests one at a time (check and update must be atomic, tlog-witness §add-checkpoint).
 */
import { decodeBase64, encodeBase64 } from '../../packages/client/src/core/encoding.ts';
import { parseCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import type { Cosigner } from '../../packages/client/src/transparency/cosignature.ts';
import { ProofError, sameHash, verifyConsistency } from '../../packages/client/src/transparency/merkle.ts';
import { NoteError, openNote, parseNote, type VerifierKey } from '../../packages/client/src/transparency/note.ts';

/** Latest cosigned checkpoint per origin. */
export type WitnessState = Record<string, { size: number; rootHash: string }>;

export interface WitnessAnswer {
  status: number;
  body: string;
  contentType: string;
  /** The state to persist before answering (on success only). */
  state?: WitnessState;
}

const text = (status: number, body: string): WitnessAnswer => ({ status, body: `${body}\n`, contentType: 'text/plain; charset=utf-8' });

export const maxRequestBytes = 64 * 1024;

export function addCheckpoint(body: string, logs: Map<string, VerifierKey[]>, state: WitnessState, cosigner: Cosigner, now: Date): WitnessAnswer {
  const split = body.indexOf('\n\n');
  if (split < 0) return text(400, 'expected an old size line, proof lines, an empty line and a checkpoint');
  const header = body.slice(0, split).split('\n');
  const oldMatch = /^old (0|[1-9][0-9]{0,15})$/.exec(header[0] ?? '');
  const proof = header.slice(1).map((line) => decodeBase64(line));
  if (!oldMatch || proof.length > 63 || proof.some((hash, i) => !hash || hash.length !== 32 || encodeBase64(hash) !== header[i + 1])) {
    return text(400, 'malformed old size or consistency proof line');
  }
  const oldSize = Number(oldMatch[1]);
  const note = body.slice(split + 2);
  let checkpointText: string;
  let checkpoint: ReturnType<typeof parseCheckpoint>;
  try {
    checkpointText = parseNote(note).text;
    checkpoint = parseCheckpoint(checkpointText);
  } catch (error) {
    return text(400, `malformed checkpoint: ${(error as Error).message}`);
  }
  const keys = logs.get(checkpoint.origin);
  if (!keys) return text(404, `unknown log ${checkpoint.origin}`);
  try {
    openNote(note, keys);
  } catch (error) {
    if (error instanceof NoteError) return text(403, 'no signature by a known key of this log');
    throw error;
  }
  if (oldSize > checkpoint.size) return text(400, 'old size is larger than the checkpoint size');
  const known = state[checkpoint.origin] ?? { size: 0, rootHash: '' };
  if (oldSize !== known.size) return { status: 409, body: `${known.size}\n`, contentType: 'text/x.tlog.size' };
  const knownRoot = decodeBase64(known.rootHash) ?? new Uint8Array(0);
  if (oldSize === checkpoint.size) {
    if (oldSize > 0 && !sameHash(knownRoot, checkpoint.rootHash)) return text(409, 'same size, different root hash');
    if (proof.length > 0) return text(422, 'the proof must be empty between equal sizes');
  } else if (oldSize === 0) {
    if (proof.length > 0) return text(422, 'the proof must be empty from size 0');
  } else {
    try {
      verifyConsistency(oldSize, checkpoint.size, proof as Uint8Array[], knownRoot, checkpoint.rootHash);
    } catch (error) {
      if (error instanceof ProofError) return text(422, `consistency proof does not verify: ${error.message}`);
      throw error;
    }
  }
  const next = { ...state, [checkpoint.origin]: { size: checkpoint.size, rootHash: encodeBase64(checkpoint.rootHash) } };
  const line = cosigner.cosign(checkpointText, Math.floor(now.getTime() / 1000));
  return { status: 200, body: line, contentType: 'text/plain; charset=utf-8', state: next };
}
