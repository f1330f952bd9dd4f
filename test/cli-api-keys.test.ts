/** `prekeyd api-keys create|list|revoke`: in process for the details, then once end to end beside a server. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasValidApiKeyChecksum } from '../src/crypto/api-key-format.ts';
import { runApiKeys } from '../src/cli/api-keys.ts';
import { hashToken } from '../src/domain/authentication.ts';
import { createTestApp } from './helpers/app.ts';
import { registration } from './helpers/keys.ts';
import { expectError } from './helpers/errors.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prekeyd-cli-'));
  dirs.push(dir);
  return join(dir, 'prekeyd.db');
}

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runApiKeys(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

describe('prekeyd api-keys (in process)', () => {
  const db = tempDb();

  it('creates a key, printing it once with its uid', async () => {
    const res = await run(['create', '--project', 'app1', '--acl', 'keys.read,bundles.fetch', '--description', 'from the CLI', '--create-db', '--db', db]);
    expect(res.code).toBe(0);
    expect(res.out).toHaveLength(2);
    expect(res.out[0]).toMatch(/^Created API key key_\w+ in project app1\. The key is shown only this once/);
    expect(hasValidApiKeyChecksum(res.out[1]!)).toBe(true);
  });

  it('creates with --json, user patterns and an expiry; the key works against the server afterwards', async () => {
    const expiresAt = new Date(Date.now() + 86400_000).toISOString();
    const res = await run([
      'create',
      '--project',
      'app1',
      '--acl',
      'keys.register',
      '--user-ids',
      'user_a, user_b*',
      '--expires-at',
      expiresAt,
      '--json',
      '--db',
      db,
    ]);
    expect(res.code).toBe(0);
    const created = JSON.parse(res.out[0]!);
    expect(created).toMatchObject({ projectId: 'app1', acl: ['keys.register'], userIds: ['user_a', 'user_b*'], expiresAt, revoked: false });

    const t = await createTestApp({ dbPath: db });
    try {
      const allowed = await t.call('POST', '/v1/keys/register', registration('user_b7', 1).body, { token: created.key });
      expect(allowed.status).toBe(201);
      const denied = await t.call('POST', '/v1/keys/register', registration('user_c', 1).body, { token: created.key });
      await expectError(denied, 403, 'FORBIDDEN');
      const audit = await t.store.transaction((tx) => tx.audit.query({ projectId: 'app1', offset: 0, limit: 100 }));
      const entry = audit.items.find((item) => item.details.uid === created.uid);
      expect(entry).toMatchObject({ action: 'API_KEY_CREATED', actor: 'master', ipAddress: null, resource: 'API_KEY' });
    } finally {
      await t.store.close();
      await t.close();
    }
  });

  it('takes unix seconds for --expires-at', async () => {
    const seconds = Math.floor(Date.now() / 1000) + 3600;
    const res = await run(['create', '--project', 'app2', '--acl', 'keys.read', '--expires-at', String(seconds), '--json', '--db', db]);
    expect(JSON.parse(res.out[0]!).expiresAt).toBe(new Date(seconds * 1000).toISOString());
  });

  it('lists keys, all projects or one, without secrets', async () => {
    const all = await run(['list', '--json', '--db', db]);
    const keys = JSON.parse(all.out[0]!);
    expect(keys.map((key: { projectId: string }) => key.projectId).sort()).toEqual(['app1', 'app1', 'app2']);
    for (const key of keys) expect(key).not.toHaveProperty('key');
    const one = await run(['list', '--project', 'app2', '--db', db]);
    expect(one.code).toBe(0);
    expect(one.out).toHaveLength(1);
    expect(one.out[0]).toMatch(/^key_\w+\tapp2\tpkd_\w{8}\tkeys\.read\t\*\texpires /);
  });

  it('revokes a key by uid; the server refuses it afterwards', async () => {
    const created = JSON.parse((await run(['create', '--project', 'app3', '--acl', 'keys.read', '--json', '--db', db])).out[0]!);
    const res = await run(['revoke', created.uid, '--db', db]);
    expect(res.code).toBe(0);
    expect(res.out[0]).toBe(`Revoked API key ${created.uid} (${created.prefix}) of project app3`);
    const t = await createTestApp({ dbPath: db });
    try {
      await expectError(await t.call('GET', '/v1/keys/list', undefined, { token: created.key }), 401, 'UNAUTHORIZED');
      const entries = await t.store.transaction((tx) => tx.audit.query({ projectId: 'app3', offset: 0, limit: 100 }));
      expect(entries.items.map((entry) => entry.action)).toContain('API_KEY_UPDATED');
    } finally {
      await t.store.close();
      await t.close();
    }
  });

  it.each([
    [['create', '--project', 'bad project', '--acl', 'keys.read'], /--project: /],
    [['create', '--project', 'p', '--acl', 'keys.read,keys.destroy'], /--acl: /],
    [['create', '--acl', 'keys.read'], /--project: /],
    [['create', '--project', 'p', '--acl', 'keys.read', '--expires-at', '2001-01-01T00:00:00Z'], /expiresAt: must be in the future/],
    [['create', '--project', 'p', '--acl', 'keys.read', '--user-ids', 'a b'], /--user-ids: /],
    [['revoke'], /needs the uid/],
  ])('refuses %j with exit code 2 and a clear message', async (argv, message) => {
    const res = await run([...argv, '--db', db]);
    expect(res.code).toBe(2);
    expect(res.err.join('\n')).toMatch(message);
  });

  it('refuses a database that does not exist (a mistyped --db) and creates nothing', async () => {
    const typo = join(db, '..', 'typo', 'typo.db');
    for (const argv of [['list'], ['revoke', 'key_x'], ['create', '--project', 'p', '--acl', 'keys.read']]) {
      const res = await run([...argv, '--db', typo]).catch((error: Error) => ({ code: 2, out: [], err: [error.message] }));
      expect(res.code).toBe(2);
      expect(res.err.join('\n')).toMatch(/--db: no database at .*typo\.db: this command does not create one/);
    }
    expect(existsSync(join(db, '..', 'typo'))).toBe(false);
  });

  it('answers exit code 1 for an unknown uid and 2 for an unknown subcommand', async () => {
    const missing = await run(['revoke', 'key_nope', '--db', db]);
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toBe('prekeyd: No API key key_nope');
    const unknown = await run(['rotate', '--db', db]);
    expect(unknown.code).toBe(2);
    expect(unknown.err[0]).toMatch(/Unknown api-keys command "rotate"/);
  });
});

/** `node --import tsx src/cli/main.ts …`, as a user runs it. */
function prekeyd(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: cleanEnv() });
}

function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PREKEYD_')));
}

function startServer(db: string, masterKey: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1', '--db', db, '--master-key', masterKey, '--log-level', 'debug'],
    { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve({ child, url: match[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

describe('prekeyd api-keys end to end', () => {
  it('sets up a key offline, is refused while the server holds the database, and never leaks the secret', async () => {
    const db = tempDb();
    const created = prekeyd(['api-keys', 'create', '--project', 'e2e', '--acl', 'keys.read,apiKeys.manage', '--json', '--create-db', '--db', db]);
    expect(created.status, created.stderr).toBe(0);
    const { uid, key } = JSON.parse(created.stdout) as { uid: string; key: string };
    const secretPart = key.slice(12);

    const server = await startServer(db, 'e2e-master-key-0123456789abcdef0123456789');
    const headers = { authorization: `Bearer ${key}` };
    expect((await fetch(`${server.url}/v1/keys/list`, { headers })).status).toBe(200);
    const listed = await fetch(`${server.url}/v1/api-keys`, { headers });
    expect(listed.status).toBe(200);
    expect(await listed.text()).not.toContain(secretPart);

    const whileServing = prekeyd(['api-keys', 'list', '--db', db]);
    expect(whileServing.status).not.toBe(0);
    expect(whileServing.stderr).toMatch(/in use/);

    server.child.kill('SIGTERM');
    const exitCode = await new Promise((resolve) => server.child.once('exit', resolve));
    expect(exitCode).toBe(0);
    const logs = server.output() + created.stderr + whileServing.stdout + whileServing.stderr;
    expect(logs).toContain('"route":"/v1/api-keys"');
    expect(logs).not.toContain(secretPart);

    const revoked = prekeyd(['api-keys', 'revoke', uid, '--db', db]);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(revoked.stdout + revoked.stderr).not.toContain(secretPart);

    const dir = join(db, '..');
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    const bytes = Buffer.concat(files.map((entry) => readFileSync(join(entry.parentPath, entry.name))));
    expect(bytes.includes(Buffer.from(hashToken(key)))).toBe(true);
    expect(bytes.includes(Buffer.from(secretPart))).toBe(false);
  });
});
