import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, maskSecrets, parseDuration, resolveConfig } from '../../src/config.ts';
import { jsonFormat, prettyFormat } from '../../src/log.ts';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } });

describe('configuration', () => {
  it('has the SPEC defaults', () => {
    expect(resolveConfig()).toMatchObject({ host: '127.0.0.1', port: 8080, db: './prekeyd-data/prekeyd.db', env: 'development', prekeyLowThreshold: 5 });
    expect(resolveConfig().signedPrekeyMaxAge).toBe(30 * 86_400_000);
  });

  it('lets flags win over the environment, which wins over the file', () => {
    const file = { port: 1, host: '0.0.0.0', db: 'file.db' };
    const env = configFromEnv({ PREKEYD_PORT: '2', PREKEYD_HOST: '::1' });
    expect(resolveConfig(file, env, { port: '3' })).toMatchObject({ port: 3, host: '::1', db: 'file.db' });
  });

  it('names the bad setting, its flag and its variable', () => {
    expect(() => resolveConfig({ port: 'eighty' })).toThrow(/--port \(PREKEYD_PORT\)/);
    expect(() => resolveConfig({ env: 'staging' })).toThrow(/--env \(PREKEYD_ENV\)/);
    expect(() => resolveConfig({ signedPrekeyMaxAge: 'soon' })).toThrow(/--signed-prekey-max-age .*not a duration/);
    expect(() => resolveConfig({ colour: 'blue' } as never)).toThrow(ConfigError);
  });

  it('parses durations', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('10 parsecs')).toBeUndefined();
    expect(parseDuration('30')).toBeUndefined(); // days or seconds? a unit is required
    expect(resolveConfig({ pushHeartbeat: 1500 }).pushHeartbeat).toBe(1500);
  });

  it('masks the master key and the database password when printed', () => {
    const masked = maskSecrets(resolveConfig({ masterKey: 'super-secret-master-key', db: 'postgres://app:hunter2@db:5432/prekeyd' }));
    expect(JSON.stringify(masked)).not.toContain('super-secret');
    expect(JSON.stringify(masked)).not.toContain('hunter2');
    expect(masked.db).toBe('postgres://app:********@db:5432/prekeyd');
  });

  it('`prekeyd config print` shows the effective configuration from file, environment and flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prekeyd-config-'));
    const file = join(dir, 'prekeyd.json');
    writeFileSync(file, JSON.stringify({ port: 9000, 'rate-limit-bundle': 50, masterKey: 'from-the-file-0123456789abcdef' }));
    const { stdout } = await cli(['config', 'print', '--config', file, '--host', '0.0.0.0'], { PREKEYD_DRAIN_LIMIT: '7' });
    const printed = JSON.parse(stdout);
    expect(printed).toMatchObject({ port: 9000, rateLimitBundle: 50, host: '0.0.0.0', drainLimit: 7, masterKey: '********' });
    expect(stdout).not.toContain('from-the-file');
  });

  it('refuses to start with a clear message on a bad setting or a weak production key', async () => {
    const bad = await cli(['serve', '--port', 'eighty']).catch((error: { code: number; stderr: string }) => error);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--port (PREKEYD_PORT)');
    const weak = await cli(['serve', '--env', 'production', '--master-key', 'short', '--port', '0']).catch((error: { code: number; stderr: string }) => error);
    expect(weak).toMatchObject({ code: 2 });
    expect((weak as { stderr: string }).stderr).toContain('at least 32 characters');
  });
});

describe('log formats', () => {
  const entry = { time: '2026-01-01T10:00:00.000Z', level: 'info' as const, msg: 'request', status: 200, route: '/healthz' };
  it('writes JSON lines for machines and one readable line for terminals', () => {
    expect(JSON.parse(jsonFormat(entry))).toEqual(entry);
    const pretty = prettyFormat(entry);
    expect(pretty).toContain('request');
    expect(pretty).toContain('status=200');
    expect(pretty).not.toContain('{');
  });
});
