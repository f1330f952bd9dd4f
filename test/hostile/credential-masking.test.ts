/**
 * Attack: read a database password off an operator's screen, a support ticket or the logs.
 * `config print` showed a `?password=` of the database URL (only the userinfo password was
 * masked), and nothing masked URLs in log lines or start-up errors. Now every printed or logged
 * URL loses its credentials: userinfo password and `password=` parameters (src/redact.ts, also
 * applied to start-up errors in src/cli/main.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runConfig } from '../../src/cli/config-command.ts';
import { runMigrate } from '../../src/cli/migrate.ts';
import { createLogger, jsonFormat } from '../../src/log.ts';
import { openStore } from '../../src/store/open-store.ts';

const secretUrl = 'postgres://app:hunter2-userinfo@127.0.0.1:1/prekeyd?sslmode=disable&password=hunter2-query';
const secrets = ['hunter2-userinfo', 'hunter2-query'];
const dir = mkdtempSync(join(tmpdir(), 'prekeyd-masking-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const expectNoSecret = (text: string) => {
  for (const secret of secrets) expect(text).not.toContain(secret);
};

describe('credentials in printed and logged URLs', () => {
  it('config print masks both passwords, from a flag and from the environment', async () => {
    for (const [args, env] of [
      [['print', '--db', secretUrl], {}],
      [['print'], { PREKEYD_DB: secretUrl }],
    ] as const) {
      const printed: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
      const saved = process.env.PREKEYD_DB;
      Object.assign(process.env, env);
      try {
        expect(await runConfig([...args])).toBe(0);
      } finally {
        spy.mockRestore();
        if (saved === undefined) delete process.env.PREKEYD_DB;
        else process.env.PREKEYD_DB = saved;
      }
      const { db } = JSON.parse(printed.join('\n'));
      expect(db).toBe('postgres://app:********@127.0.0.1:1/prekeyd?sslmode=disable&password=********');
      expectNoSecret(printed.join('\n'));
    }
  });

  it('log lines lose URL passwords whatever field carries them', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', (line) => lines.push(line), jsonFormat);
    logger.warn(`cannot reach ${secretUrl}`, { error: `connect ECONNREFUSED (${secretUrl})`, conninfo: 'host=db password=hunter2-query' });
    expect(lines).toHaveLength(1);
    expectNoSecret(lines[0]!);
    expect(lines[0]).toContain('postgres://app:********@127.0.0.1:1/prekeyd');
  });

  it('migrate prints the target without its passwords, also when the connection fails', async () => {
    const from = join(dir, 'source.db');
    await (await openStore(from)).close();
    const out: string[] = [];
    const failure = await runMigrate(['--from', from, '--to', secretUrl], (line) => out.push(line)).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(out[0]).toMatch(/^Migrating .* to postgres:\/\/app:\*+@127\.0\.0\.1:1\/prekeyd/);
    expectNoSecret(out.join('\n') + String((failure as Error).stack));
  });
});
