/**
 * One process per database file: the embedded store keeps the database in memory, so a second
 * writer (a second server, or an admin command while the server runs) would silently lose or
 * corrupt data. A lock file holding the owner's pid guards it; a stale lock (dead owner) is taken over.
 *
 * Whether the owner is alive: `process.kill(pid, 0)` where the runtime allows it (Node; Deno
 * with --allow-run). Deno without --allow-run cannot ask, so the owner also touches the lock
 * file every second, and a lock nobody touched for `staleAfterMs` belongs to a dead process.
 * The heartbeat is only consulted when the pid check cannot answer: it never overrides it.
 */
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { privateDirectoryMode, privateFileMode } from './file-modes.ts';
import { dirname } from 'node:path';
import process from 'node:process';
import { makeDirectory } from '../../runtime/make-directory.ts';
import { processLiveness } from '../../runtime/process-alive.ts';
import { fsyncDirectory } from './journal.ts';

export class DatabaseLockedError extends Error {}

export interface ProcessLock {
  release(): Promise<void>;
}

export const lockHeartbeatMs = 1000;
/** Several missed heartbeats: a live owner whose event loop stalls for a moment keeps its lock. */
const staleAfterMs = 4 * lockHeartbeatMs;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const touchedAt = (path: string) =>
  stat(path).then(
    (info) => info.mtimeMs,
    () => undefined,
  );

/** Watches the lock's heartbeat: alive as soon as it moves, dead once it stayed still for `staleAfterMs`. */
async function heartbeatAlive(lockPath: string): Promise<boolean> {
  const first = await touchedAt(lockPath);
  if (first === undefined) return false;
  for (;;) {
    const now = await touchedAt(lockPath);
    if (now === undefined) return false;
    if (now !== first) return true;
    if (Date.now() - now > staleAfterMs) return false;
    await sleep(lockHeartbeatMs / 4);
  }
}

async function ownerAlive(owner: number, lockPath: string): Promise<boolean> {
  const liveness = processLiveness(owner);
  return liveness === 'unknown' ? heartbeatAlive(lockPath) : liveness === 'alive';
}

export async function acquireProcessLock(databasePath: string): Promise<ProcessLock> {
  const lockPath = `${databasePath}.lock`;
  const created = await makeDirectory(dirname(lockPath), privateDirectoryMode);
  if (created) await fsyncDirectory(dirname(created)); // a new directory must survive a crash too
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', privateFileMode);
      await handle.writeFile(String(process.pid));
      await handle.close();
      const heartbeat = setInterval(() => {
        const now = new Date();
        utimes(lockPath, now, now).catch(() => undefined);
      }, lockHeartbeatMs);
      heartbeat.unref?.();
      return {
        release: () => {
          clearInterval(heartbeat);
          return unlink(lockPath).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner !== process.pid && (await ownerAlive(owner, lockPath))) {
        throw new DatabaseLockedError(`The database ${databasePath} is in use by process ${owner}; stop it first.`);
      }
      await unlink(lockPath).catch(() => undefined);
    }
  }
  throw new DatabaseLockedError(`Could not lock the database ${databasePath}`);
}
