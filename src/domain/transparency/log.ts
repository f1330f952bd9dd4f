/**
 * The per-project transparency logs of one server: a checkpointer that signs a checkpoint at
 * most every `intervalMs` for every log with new leaves (each batch of changes), witness rounds
 * for each new checkpoint, and the checkpoints and proofs requests are answered with.
 *
 * @example
 * ```ts
 * const log = new TransparencyLog(store, settings, systemClock, logger);
 * log.start();
 * const proof = await log.prove(projectId, leaf); // waits for a checkpoint covering the leaf
 * ```
 */
import { encodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import type { Logger } from '../../log.ts';
import type { LogLeafRecord, Store } from '../../store/types.ts';
import { parseCheckpoint } from '../../../packages/client/src/transparency/checkpoint.ts';
import { parseNote, parseSignerKey } from '../../../packages/client/src/transparency/note.ts';
import type { Clock } from '../deps.ts';
import { AppError } from '../errors.ts';
import { type SignedCheckpoint, signNextCheckpoint } from './checkpointer.ts';
import { ProofSource } from './proofs.ts';
import { addCheckpoint, addCheckpointBody } from './witness-client.ts';

export interface TransparencySettings {
  /** Shortest time between two checkpoints of one log. */
  intervalMs: number;
  /** The origin line of a project's log, used when the log signs its first checkpoint. */
  originFor(projectId: string): string;
  /** tlog-witness URL prefixes asked to cosign every checkpoint. */
  witnesses: string[];
  witnessTimeoutMs: number;
  /** Projects whose entry bundles anyone may read (others need `transparency.read`). */
  publicProjects: string[];
  /** How long a request waits for a checkpoint covering its change before answering 503. */
  waitMs: number;
  /** Leaves one checkpoint covers at most (the rest go into the next). */
  maxLeavesPerCheckpoint: number;
}

/** The `transparency` member of /v1 answers: what a client needs to check the keys it was served. */
export interface TransparencyProof {
  /** The signed checkpoint (C2SP tlog-checkpoint note, with cosignatures). */
  checkpoint: string;
  leafIndex: number;
  /** The leaf bytes, base64 (src/transparency/leaf.ts). */
  leaf: string;
  /** The RFC 6962 audit path of the leaf in the checkpoint's tree, base64 hashes. */
  inclusionProof: string[];
}

/** How often a log this instance does not sign is re-read (several instances on one database). */
const refreshEveryMs = 5000;
/** Audit paths kept for reuse (a few hundred bytes each). */
const maxCachedPaths = 10_000;

interface Waiter {
  index: number;
  resolve(checkpoint: SignedCheckpoint | undefined): void;
}

export class TransparencyLog {
  readonly proofs: ProofSource;
  /** Newest checkpoint of each log, with the cosignatures collected so far. */
  private readonly published = new Map<string, SignedCheckpoint>();
  /** Newest checkpoint whose witness round has ended: what proofs are given against. */
  private readonly settled = new Map<string, SignedCheckpoint>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly witnessSizes = new Map<string, number>();
  private readonly noteUpdates = new Map<string, Promise<void>>();
  private readonly refreshedAt = new Map<string, number>();
  private readonly provenPaths = new Map<string, string[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly store: Store,
    readonly settings: TransparencySettings,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {
    this.proofs = new ProofSource(store);
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    for (const [projectId] of this.waiters) this.release(projectId, undefined);
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ticking = this.tick()
        .catch((error: unknown) => this.logger?.warn('transparency checkpoint failed', { error: String(error) }))
        .finally(() => {
          this.ticking = undefined;
          this.schedule();
        });
    }, this.settings.intervalMs);
    this.timer.unref?.();
  }

  /** Signs the next checkpoint of every log with new leaves; catches up on logs other instances signed. */
  async tick(): Promise<void> {
    const pending = await this.store.transaction((tx) => tx.transparency.pendingLogs());
    for (const projectId of pending) {
      const origin = this.settings.originFor(projectId);
      const signed = await signNextCheckpoint(this.store, projectId, { origin, now: this.clock.now(), maxLeaves: this.settings.maxLeavesPerCheckpoint });
      if (signed) this.publish(signed);
    }
    // Logs other instances sign (PostgreSQL): waiters need them now, /checkpoint within a few seconds.
    const now = Date.now();
    for (const projectId of new Set([...this.waiters.keys(), ...this.published.keys()])) {
      if (pending.includes(projectId)) continue;
      if (!this.waiters.has(projectId) && now - (this.refreshedAt.get(projectId) ?? 0) < refreshEveryMs) continue;
      this.refreshedAt.set(projectId, now);
      await this.refresh(projectId);
    }
  }

  /** The stored checkpoint, when newer than the one in memory (signed by another instance, or before a restart). */
  private async refresh(projectId: string): Promise<SignedCheckpoint | undefined> {
    const log = await this.store.transaction((tx) => tx.transparency.log(projectId));
    if (!log?.checkpoint || !log.signerKey) return undefined;
    const parsed = parseCheckpoint(parseNote(log.checkpoint).text);
    const stored: SignedCheckpoint = {
      projectId,
      origin: parsed.origin,
      size: parsed.size,
      rootHash: parsed.rootHash,
      note: log.checkpoint,
      verifierKey: parseSignerKey(log.signerKey).verifierKey,
    };
    const known = this.published.get(projectId);
    if (!known || stored.size > known.size) {
      this.published.set(projectId, stored);
      this.settle(stored);
    }
    return this.published.get(projectId);
  }

  private publish(checkpoint: SignedCheckpoint): void {
    this.published.set(checkpoint.projectId, checkpoint);
    if (this.settings.witnesses.length === 0) return this.settle(checkpoint);
    const rounds = this.settings.witnesses.map((url) => this.cosign(url, checkpoint));
    void Promise.allSettled(rounds).then(async () => {
      await this.noteUpdates.get(checkpoint.projectId);
      const current = this.published.get(checkpoint.projectId);
      if (current && current.size >= checkpoint.size) this.settle(current);
    });
  }

  private settle(checkpoint: SignedCheckpoint): void {
    const known = this.settled.get(checkpoint.projectId);
    if (known && known.size > checkpoint.size) return;
    this.settled.set(checkpoint.projectId, checkpoint);
    this.release(checkpoint.projectId, checkpoint);
  }

  private release(projectId: string, checkpoint: SignedCheckpoint | undefined): void {
    const waiting = this.waiters.get(projectId) ?? [];
    const still = waiting.filter((waiter) => checkpoint !== undefined && waiter.index >= checkpoint.size);
    for (const waiter of waiting) if (!still.includes(waiter)) waiter.resolve(checkpoint);
    if (still.length > 0) this.waiters.set(projectId, still);
    else this.waiters.delete(projectId);
  }

  /** Asks one witness to cosign; on a 409 it tells the size it has, and one retry proves from there. */
  private async cosign(url: string, checkpoint: SignedCheckpoint): Promise<void> {
    const key = `${url} ${checkpoint.projectId}`;
    let oldSize = this.witnessSizes.get(key) ?? 0;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        if (oldSize > checkpoint.size) return;
        const proof = oldSize === 0 ? [] : await this.proofs.consistency(checkpoint.projectId, oldSize, checkpoint.size);
        const answer = await addCheckpoint(url, addCheckpointBody(oldSize, proof, checkpoint.note), this.settings.witnessTimeoutMs);
        if (answer.status === 200 && answer.cosignatures) {
          this.witnessSizes.set(key, checkpoint.size);
          return await this.addCosignatures(checkpoint, answer.cosignatures);
        }
        if (answer.status !== 409 || answer.witnessSize === undefined || answer.witnessSize === oldSize) {
          this.logger?.warn('witness refused the checkpoint', { witness: url, projectId: checkpoint.projectId, size: checkpoint.size, status: answer.status });
          return;
        }
        oldSize = answer.witnessSize;
      }
    } catch (error) {
      this.logger?.warn('witness unreachable', { witness: url, projectId: checkpoint.projectId, error: String(error) });
    }
  }

  /** Appends cosignature lines to the stored and served checkpoint, if it is still the newest. */
  private addCosignatures(checkpoint: SignedCheckpoint, lines: string): Promise<void> {
    const projectId = checkpoint.projectId;
    const update = (this.noteUpdates.get(projectId) ?? Promise.resolve()).then(async () => {
      const current = this.published.get(projectId);
      if (!current || current.size !== checkpoint.size) return;
      const fresh = lines.split(/(?<=\n)/).filter((line) => line && !current.note.includes(line));
      if (fresh.length === 0) return;
      const note = current.note + fresh.join('');
      if (await this.store.transaction((tx) => tx.transparency.updateCheckpointNote(projectId, checkpoint.size, note))) {
        this.published.set(projectId, { ...current, note });
      }
    });
    this.noteUpdates.set(
      projectId,
      update.catch(() => undefined),
    );
    return update;
  }

  /** The newest checkpoint of a project's log (served at `/checkpoint`); undefined before the first. */
  async latest(projectId: string): Promise<SignedCheckpoint | undefined> {
    return this.published.get(projectId) ?? (await this.refresh(projectId));
  }

  /** A witnessed (or, with no witnesses, the newest) checkpoint covering leaf `index`; waits for one. */
  async covering(projectId: string, index: number): Promise<SignedCheckpoint> {
    const known = this.settled.get(projectId) ?? ((await this.refresh(projectId)) && this.settled.get(projectId));
    if (known && known.size > index) return known;
    const waited = await new Promise<SignedCheckpoint | undefined>((resolve) => {
      const waiter: Waiter = { index, resolve: (checkpoint) => (clearTimeout(timeout), resolve(checkpoint)) };
      const timeout = setTimeout(() => {
        // Gone from the list on timeout, so that waiters never pile up while no checkpoint comes.
        const left = (this.waiters.get(projectId) ?? []).filter((other) => other !== waiter);
        if (left.length > 0) this.waiters.set(projectId, left);
        else this.waiters.delete(projectId);
        resolve(undefined);
      }, this.settings.waitMs);
      this.waiters.set(projectId, [...(this.waiters.get(projectId) ?? []), waiter]);
    });
    const fallback = waited ?? this.published.get(projectId);
    if (fallback && fallback.size > index) return fallback;
    throw new AppError('UNAVAILABLE', 'The transparency log has not yet published a checkpoint covering this change; retry shortly');
  }

  /** The `transparency` member of an answer: the leaf, a checkpoint covering it, and the audit path. */
  async prove(projectId: string, leaf: LogLeafRecord): Promise<TransparencyProof> {
    const checkpoint = await this.covering(projectId, leaf.index);
    // The same key set is fetched again and again between two checkpoints: its proof is reused.
    const key = `${projectId}/${leaf.index}/${checkpoint.size}`;
    let inclusionProof = this.provenPaths.get(key);
    if (!inclusionProof) {
      inclusionProof = (await this.proofs.inclusion(projectId, leaf.index, checkpoint.size)).map(encodeBase64);
      this.provenPaths.set(key, inclusionProof);
      if (this.provenPaths.size > maxCachedPaths) this.provenPaths.delete(this.provenPaths.keys().next().value!);
    }
    return { checkpoint: checkpoint.note, leafIndex: leaf.index, leaf: leaf.leaf, inclusionProof };
  }
}
