/** The transparency repository's contract, on every backend (sqljs and PGlite by default, PostgreSQL in the postgres project). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewLogLeaf, Store } from '../../src/store/types.ts';
import { availableBackends, openTestStore, type TestStore } from '../helpers/backend.ts';

let root: string;
let opened = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'prekeyd-transparency-store-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const leaf = (projectId: string, n: number, overrides: Partial<NewLogLeaf> = {}): NewLogLeaf => ({
  projectId,
  leaf: Buffer.from(`leaf ${n}`).toString('base64'),
  leafHash: n.toString(16).padStart(64, '0'),
  keySetId: n % 2 === 0 ? 7 : null,
  anchorHash: n % 2 === 1 ? `a${n}`.padEnd(64, '0') : null,
  createdAt: '2026-12-03T12:00:00.000Z',
  ...overrides,
});

describe.each(availableBackends)('transparency store on %s', (backend) => {
  let handle: TestStore;
  let store: Store;

  beforeEach(async () => {
    handle = await openTestStore(backend, { path: join(root, `${backend}-${++opened}.db`) });
    store = handle.store;
  });
  afterEach(() => handle.dispose());

  it('numbers leaves per project from 0, in the transaction that appends them', async () => {
    const indexes = await store.transaction(async (tx) => [
      await tx.transparency.appendLeaf(leaf('p1', 0)),
      await tx.transparency.appendLeaf(leaf('p1', 1)),
      await tx.transparency.appendLeaf(leaf('p2', 2)),
    ]);
    expect(indexes).toEqual([0, 1, 0]);
    await expect(
      store.transaction(async (tx) => {
        await tx.transparency.appendLeaf(leaf('p1', 3));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.transaction((tx) => tx.transparency.appendLeaf(leaf('p1', 4)))).toBe(2);

    await store.transaction(async (tx) => {
      expect((await tx.transparency.leaf('p1', 1))?.leaf).toBe(leaf('p1', 1).leaf);
      expect(await tx.transparency.leaf('p1', 9)).toBeUndefined();
      expect((await tx.transparency.leafByHash('p1', leaf('p1', 4).leafHash))?.index).toBe(2);
      expect((await tx.transparency.leafByAnchor('p1', leaf('p1', 1).anchorHash!))?.index).toBe(1);
      expect(await tx.transparency.leafByAnchor('p2', leaf('p1', 1).anchorHash!)).toBeUndefined();
      expect((await tx.transparency.latestLeafForKeySet('p1', 7))?.index).toBe(2);
      expect((await tx.transparency.leaves('p1', 0, 10)).map((l) => l.index)).toEqual([0, 1, 2]);
      expect((await tx.transparency.leaves('p1', 1, 2)).map((l) => [l.index, l.keySetId, l.anchorHash])).toEqual([[1, null, leaf('p1', 1).anchorHash]]);
      expect(await tx.transparency.pendingLogs()).toEqual(['p1', 'p2']);
    });
  });

  it('keeps the log head, its checkpoint and its tiles', async () => {
    await store.transaction((tx) => tx.transparency.appendLeaf(leaf('p1', 0)));
    const head = {
      projectId: 'p1',
      origin: 'example/prekeyd/p1',
      signerKey: 'PRIVATE+KEY+x',
      retiredKeys: ['old+00000000+AA'],
      treeSize: 1,
      checkpoint: 'cp\n',
      updatedAt: '2026-12-03T12:00:01.000Z',
    };
    await store.transaction(async (tx) => {
      expect((await tx.transparency.log('p1', { lock: true }))?.nextIndex).toBe(1);
      await tx.transparency.saveLog(head);
      await tx.transparency.putTiles('p1', [
        { level: 0, index: 0, hashes: 'AAAA' },
        { level: 1, index: 3, hashes: 'BBBB' },
      ]);
      await tx.transparency.putTiles('p1', [{ level: 0, index: 0, hashes: 'CCCC' }]);
    });
    await store.transaction(async (tx) => {
      expect(await tx.transparency.log('p1')).toEqual({ ...head, nextIndex: 1 });
      expect(await tx.transparency.pendingLogs()).toEqual([]);
      expect(await tx.transparency.updateCheckpointNote('p1', 2, 'other\n')).toBe(false);
      expect(await tx.transparency.updateCheckpointNote('p1', 1, 'cosigned\n')).toBe(true);
      const tiles = await tx.transparency.tiles('p1', [
        { level: 0, index: 0 },
        { level: 1, index: 3 },
        { level: 2, index: 0 },
      ]);
      expect(tiles.sort((a, b) => a.level - b.level)).toEqual([
        { level: 0, index: 0, hashes: 'CCCC' },
        { level: 1, index: 3, hashes: 'BBBB' },
      ]);
      expect(await tx.transparency.tiles('p2', [{ level: 0, index: 0 }])).toEqual([]);
      expect(await tx.transparency.log('p2')).toBeUndefined();
    });
    expect((await store.transaction((tx) => tx.transparency.log('p1')))?.checkpoint).toBe('cosigned\n');
    expect(await store.transaction((tx) => tx.transparency.appendLeaf(leaf('p1', 5)))).toBe(1);
  });
});
