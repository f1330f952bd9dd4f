/**
 * Attack: a local user reads another tenant's keys, backups and audit log from the embedded
 * database, whose files were created world-readable (0644, directory 0755). Now every file is
 * 0600 (database, journals, lock, snapshot copies) and a data directory prekeyd creates is 0700;
 * files of an older version are tightened when the database is opened.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.ts';
import { copyDatabaseOnline } from '../../src/store/sqljs/online-copy.ts';
import { insertApiKey } from '../helpers/api-key.ts';

const root = mkdtempSync(join(tmpdir(), 'prekeyd-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Every file under `dir` with its mode. */
function fileModes(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((name) => join(dir, name))
      .filter((path) => statSync(path).isFile())
      .map((path) => [path.slice(dir.length + 1), mode(path)]),
  );
}

describe.skipIf(process.platform === 'win32')('embedded data file modes', () => {
  it('creates the data directory 0700 and every file 0600, snapshot copies included', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const store = await openStore(join(dataDir, 'prekeyd.db'));
    try {
      await insertApiKey(store); // a journal write
      const open = fileModes(dataDir);
      expect(Object.keys(open).length).toBeGreaterThanOrEqual(3); // database, journal, lock
      for (const [file, fileMode] of Object.entries(open)) expect(fileMode, file).toBe('600');
      expect(mode(dataDir)).toBe('700');
      expect(mode(join(root, 'fresh'))).toBe('700');

      const snapshotDir = join(root, 'snapshots', 'today');
      await copyDatabaseOnline(join(dataDir, 'prekeyd.db'), join(snapshotDir, 'copy.db'));
      expect(fileModes(snapshotDir)).toEqual({ 'copy.db': '600' });
      expect(mode(snapshotDir)).toBe('700');
    } finally {
      await store.close();
    }
  });

  it('tightens world-readable files an older version left', async () => {
    const dataDir = join(root, 'legacy');
    const path = join(dataDir, 'prekeyd.db');
    const first = await openStore(path);
    await insertApiKey(first);
    await first.close();
    for (const file of Object.keys(fileModes(dataDir))) chmodSync(join(dataDir, file), 0o644);

    const again = await openStore(path);
    try {
      for (const [file, fileMode] of Object.entries(fileModes(dataDir))) expect(fileMode, file).toBe('600');
    } finally {
      await again.close();
    }
  });
});
