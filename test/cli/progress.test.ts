/** Progress of `prekeyd snapshot` (and the line `migrate` shares): drawn on a terminal, silent otherwise. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { progressText } from '../../src/cli/progress.ts';
import { runSnapshot } from '../../src/cli/snapshot.ts';
import { createTestApp } from '../helpers/app.ts';
import { registration } from '../helpers/keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'prekeyd-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function databaseWithData(): Promise<string> {
  const db = join(dir, 'source.db');
  const t = await createTestApp({ dbPath: db });
  for (let user = 0; user < 5; user++) expect((await t.call('POST', '/v1/keys/register', registration(`user_${user}`, 50).body)).status).toBe(201);
  await t.store.close();
  await t.close();
  return db;
}

describe('progress', () => {
  it('shows rows, bytes, percentage and an ETA from the rate so far', () => {
    expect(progressText({ step: 'copying audit_log', rows: 2500, totalRows: 10_000, bytes: 3 * 1024 * 1024 }, 5000)).toBe(
      'copying audit_log · 2,500 / 10,000 rows · 3.0 MiB · 25% · ETA 15s',
    );
    expect(progressText({ step: 'copying db', bytes: 512, totalBytes: 2048 }, 90_000)).toBe('copying db · 512 B / 2.0 KiB · 25% · ETA 4m30s');
    expect(progressText({ step: 'writing out', bytes: 2048, totalBytes: 2048 }, 1000)).toBe('writing out · 2.0 KiB / 2.0 KiB · 100%');
  });

  it('snapshot draws the line on a terminal and clears it; writes nothing to a pipe', async () => {
    const db = await databaseWithData();
    const terminal = {
      isTTY: true,
      written: [] as string[],
      write(text: string) {
        this.written.push(text);
      },
    };
    expect(await runSnapshot(['--db', db, '--out', join(dir, 'copy-tty.db')], terminal)).toBe(0);
    const total = statSync(db).size;
    expect(terminal.written[0]).toMatch(new RegExp(`^\\r\\x1b\\[K(copying|writing) .* · .* / ${(total / 1024).toFixed(1)} KiB`));
    expect(terminal.written.at(-1)).toBe('\r\x1b[K');

    const pipe = {
      isTTY: false,
      written: [] as string[],
      write(text: string) {
        this.written.push(text);
      },
    };
    expect(await runSnapshot(['--db', db, '--out', join(dir, 'copy-pipe.db')], pipe)).toBe(0);
    expect(pipe.written).toEqual([]);
  });
});
