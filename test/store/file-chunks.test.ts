/** Database images and journals are read in chunks: no single 2 GiB read (readFile refuses larger files). */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readWholeFile } from '../../src/store/sqljs/journal.ts';

const dir = mkdtempSync(join(tmpdir(), 'prekeyd-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('reassembles a file read in many chunks, byte for byte, including a short last chunk', async () => {
  const path = join(dir, 'image.db');
  const bytes = randomBytes(1024 * 1024 + 123);
  writeFileSync(path, bytes);
  expect(Buffer.compare(await readWholeFile(path, 4096), bytes)).toBe(0);
  expect(Buffer.compare(await readWholeFile(path), bytes)).toBe(0);
});

it('reads an empty file and reports a missing one as ENOENT', async () => {
  writeFileSync(join(dir, 'empty'), '');
  expect((await readWholeFile(join(dir, 'empty'))).length).toBe(0);
  await expect(readWholeFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
});
