/**
 * Anchors: a client commits to a message by logging its hash (never the message) in the
 * project's transparency log, and gets back the checkpoint and inclusion proof that show it.
 */
import type { LogLeafRecord } from '../store/types.ts';
import { appendAudit, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import type { Caller } from './principal.ts';
import { logAnchor } from './transparency/leaves.ts';
import type { TransparencyLog } from './transparency/log.ts';

const hashPattern = /^[0-9a-fA-F]{64}$/;

function requireLog(deps: Deps): TransparencyLog {
  if (!deps.transparency) throw new AppError('NOT_FOUND', 'Key transparency is off on this server (start it with --transparency)');
  return deps.transparency;
}

function checkHash(hash: string): string {
  if (!hashPattern.test(hash))
    throw new AppError('VALIDATION_ERROR', 'hash must be 64 hex digits (a SHA-256)', [{ field: 'hash', message: 'must be 64 hex digits' }]);
  return hash.toLowerCase();
}

async function answer(log: TransparencyLog, projectId: string, hash: string, leaf: LogLeafRecord) {
  const proof = await log.prove(projectId, leaf);
  return { hash, ...proof };
}

/** Appends the hash (once: anchoring it again answers the first leaf) and answers once a checkpoint covers it. */
export async function createAnchor(deps: Deps, caller: Caller, input: { hash: string }) {
  const log = requireLog(deps);
  const hash = checkHash(input.hash);
  const failure = { action: 'ANCHOR_CREATED', userId: null, details: { hash } } as const;
  const { leaf, created } = await audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const existing = await tx.transparency.leafByAnchor(caller.projectId, hash);
      if (existing) return { leaf: existing, created: false };
      const now = deps.clock.now();
      const appended = await logAnchor(tx, caller.projectId, hash, now);
      await appendAudit(tx, caller, now, { action: 'ANCHOR_CREATED', userId: null, resource: 'ANCHOR', details: { hash, leafIndex: appended.index } });
      return { leaf: appended, created: true };
    }),
  );
  return { created, anchor: await answer(log, caller.projectId, hash, leaf) };
}

export async function readAnchor(deps: Deps, caller: Caller, rawHash: string) {
  const log = requireLog(deps);
  const hash = checkHash(rawHash);
  const leaf = await deps.store.transaction((tx) => tx.transparency.leafByAnchor(caller.projectId, hash));
  if (!leaf) throw new AppError('NOT_FOUND', `No anchor ${hash} in this project's log`);
  return answer(log, caller.projectId, hash, leaf);
}
