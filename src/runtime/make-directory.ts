/**
 * `mkdir -p` that always ends. Node's `mkdir(path, { recursive: true })` spins forever when a
 * parent exists but cannot hold children: procfs answers ENOENT for `/proc/nope` and EEXIST for
 * `/proc`, and libuv's walk goes back and forth between them (`--db /proc/nope/p.db` hung at
 * start). Here the walk goes up once, to the nearest existing ancestor, then down once.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Creates `path` and any missing parents (with `mode`); resolves with the first directory it created, as Node's recursive mkdir does. */
export async function makeDirectory(path: string, mode?: number): Promise<string | undefined> {
  const missing: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    const found = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT' || dirname(current) === current) throw error;
      return undefined;
    });
    if (found?.isDirectory()) break;
    if (found) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: current });
    missing.unshift(current);
  }
  for (const directory of missing) {
    await mkdir(directory, { mode }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  return missing[0];
}
