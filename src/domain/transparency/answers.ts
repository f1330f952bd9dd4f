/**
 * The transparency part of an answer, for every route that serves keys (bundle, verify, shared
 * secret, and the multi-device and ML-KEM answers built on them): inside the transaction, find
 * the leaf that published the key set's keys; after it, attach the proof.
 *
 * @example
 * ```ts
 * const { answer, leaf } = await deps.store.transaction(async (tx) => ({ answer: …, leaf: await leafOf(deps, tx, keySet, now) }));
 * return withTransparency(deps, projectId, answer, leaf);
 * ```
 */
import type { KeySetRecord, LogLeafRecord, StoreTx } from '../../store/types.ts';
import type { Deps } from '../deps.ts';
import { publishedLeaf } from './leaves.ts';
import type { TransparencyProof } from './log.ts';

/** In the transaction that reads the key set; undefined while transparency is off. */
export const leafOf = (deps: Deps, tx: StoreTx, keySet: KeySetRecord, now: Date): Promise<LogLeafRecord | undefined> =>
  publishedLeaf(tx, deps.transparency !== undefined, keySet, now);

/** `answer` with `transparency: {checkpoint, leafIndex, leaf, inclusionProof}` when there is a leaf. */
export async function withTransparency<T extends object>(
  deps: Deps,
  projectId: string,
  answer: T,
  leaf: LogLeafRecord | undefined,
): Promise<T & { transparency?: TransparencyProof }> {
  if (!leaf || !deps.transparency) return answer;
  return { ...answer, transparency: await deps.transparency.prove(projectId, leaf) };
}

export const transparencyOn = (deps: Deps): boolean => deps.transparency !== undefined;
