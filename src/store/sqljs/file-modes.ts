/**
 * The embedded database holds every tenant's keys, backups and audit log: its files (database,
 * journals, lock, snapshot copies, temp files) are readable by the server's user only, and a
 * data directory prekeyd creates is closed to others too. Modes are given at creation (the
 * process umask can only remove bits), and files of an older version are tightened on open.
 */
import { chmod } from 'node:fs/promises';

export const privateFileMode = 0o600;
export const privateDirectoryMode = 0o700;

/** chmod 600 of files that may predate these modes; missing files are fine. */
export async function tightenFileModes(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    await chmod(path, privateFileMode).catch((error: { code?: string }) => {
      // Not ours to fix on a platform or filesystem without POSIX modes.
      if (error.code !== 'ENOENT' && error.code !== 'EPERM' && error.code !== 'ENOTSUP') throw error;
    });
  }
}
