/**
 * One process per database file: the embedded store keeps the database in memory, so a second
 * writer (a second server, or an admin command while the server runs) would silently lose or
 * corrupt data. A lock file holding the owner's pid guards it; a stale lock (dead pid) is taken over.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { privateDirectoryMode, privateFileMode } from './file-modes.ts';
import { dirname } from 'node:path';
import process from 'node:process';
import { isProcessAlive } from '../../runtime/process-alive.ts';

export class DatabaseLockedError extends Error {}

export interface ProcessLock {
  release(): Promise<void>;
}

export async function acquireProcessLock(databasePath: string): Promise<ProcessLock> {
  const lockPath = `${databasePath}.lock`;
  await mkdir(dirname(lockPath), { recursive: true, mode: privateDirectoryMode });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', privateFileMode);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => unlink(lockPath).catch(() => undefined) };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isProcessAlive(owner)) {
        throw new DatabaseLockedError(`The database ${databasePath} is in use by process ${owner}; stop it first.`);
      }
      await unlink(lockPath).catch(() => undefined);
    }
  }
  throw new DatabaseLockedError(`Could not lock the database ${databasePath}`);
}
