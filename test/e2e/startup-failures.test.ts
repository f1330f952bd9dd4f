/**
 * Start-up failures (issue 22): each is one clear line on stderr, no stack trace, a non-zero exit
 * code, within 5 s — never a hang. Runs the built bundle, as `node dist/prekeyd.cjs` would.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, expectOneLineFailure, runCommand } from './cli-run.ts';
import { startServerProcess, temporaryDirectory } from './server-process.ts';

let bundle: string;
const dirs: string[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  const built = await buildBundle();
  bundle = built.bundle;
  dirs.push(built.outdir);
  chmodSync(built.outdir, 0o755); // readable by the unprivileged user of the permission tests
}, 60_000);

afterAll(() => {
  for (const server of servers) server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = temporaryDirectory('startup');
  dirs.push(dir);
  return dir;
}

const prekeyd = (args: string[], options: Parameters<typeof runCommand>[2] = {}) =>
  runCommand(process.execPath, [bundle, ...args, '--log-level', 'warn'], { timeoutMs: 10_000, ...options });

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * Just enough of PostgreSQL's wire protocol to refuse a password: asks for it in clear text,
 * then answers FATAL 28P01 as a real server with `password` authentication in pg_hba.conf does.
 */
function passwordRefusingPostgres(): Server {
  return createServer((socket) => {
    let stage = 0;
    socket.on('data', () => {
      if (stage++ === 0) {
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
        return;
      }
      const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "prekeyd"'];
      const body = Buffer.concat([...fields.map((field) => Buffer.from(`${field}\0`)), Buffer.from([0])]);
      const header = Buffer.alloc(5);
      header.write('E');
      header.writeInt32BE(body.length + 4, 1);
      socket.end(Buffer.concat([header, body]));
    });
  });
}

describe('prekeyd serve: start-up failures', () => {
  it('port in use: one line, and the development master key of a failed start is neither stored nor lost', async () => {
    const port = await listen(createServer());
    const dir = scratch();
    const db = join(dir, 'prekeyd.db');
    const failed = await prekeyd(['serve', '--port', String(port), '--db', db]);
    expectOneLineFailure(failed, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use .*--port`), expect);
    expect(failed.stdout).not.toMatch(/master key/); // no key shown that the next start would not accept

    // The next start generates the key, stores it and shows it: that one works.
    const server = await startServerProcess(process.execPath, [bundle, 'serve', '--port', '0', '--db', db]);
    try {
      const key = /development master key.*: (pkd_master_\S+)/.exec(server.output())?.[1];
      expect(key).toBeDefined();
      const answer = await fetch(`${server.url}/v1/keys/list`, { headers: { authorization: `Bearer ${key}` } });
      expect(answer.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('PostgreSQL unreachable', async () => {
    const port = await closedPort();
    const result = await prekeyd(['serve', '--port', '0', '--db', `postgres://prekeyd:secret-password@127.0.0.1:${port}/prekeyd`]);
    expectOneLineFailure(result, new RegExp(`cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}: connection refused`), expect);
  });

  it('PostgreSQL refusing the password (without echoing it)', async () => {
    const port = await listen(passwordRefusingPostgres());
    const result = await prekeyd(['serve', '--port', '0', '--db', `postgres://prekeyd:wrong-password-123@127.0.0.1:${port}/prekeyd`]);
    expectOneLineFailure(result, /PostgreSQL refused the password: password authentication failed for user "prekeyd"/, expect);
    expect(result.stderr).not.toContain('wrong-password-123');
  });

  it("--db /proc/nope/p.db (a parent that cannot hold directories: Node's recursive mkdir spun forever)", async () => {
    const result = await prekeyd(['serve', '--port', '0', '--db', '/proc/nope/p.db']);
    expectOneLineFailure(result, /cannot create the directory \/proc\/nope: /, expect);
  });

  it('a directory in the path that is a file', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'data'), 'not a directory');
    const result = await prekeyd(['serve', '--port', '0', '--db', join(dir, 'data', 'prekeyd.db')]);
    expectOneLineFailure(result, /data: a part of the path is not a directory/, expect);
  });

  // As root every directory is writable: the server then runs as an unprivileged user.
  const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

  it('a missing directory that cannot be created', async () => {
    const dir = scratch();
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(dir, 0o755);
    const result = await prekeyd(['serve', '--port', '0', '--db', join(readOnly, 'missing', 'prekeyd.db')], { ...unprivileged, cwd: '/' });
    expectOneLineFailure(result, /cannot create the directory .*read-only\/missing: permission denied/, expect);
  });

  it('an existing directory that is not writable', async () => {
    const dir = scratch();
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(dir, 0o755);
    const result = await prekeyd(['serve', '--port', '0', '--db', join(readOnly, 'prekeyd.db')], { ...unprivileged, cwd: '/' });
    expectOneLineFailure(result, /cannot open .*read-only\/prekeyd\.db\.lock: permission denied/, expect);
  });

  it('a database locked by a live server is refused; a stale lock of a dead process is taken over', async () => {
    const dir = scratch();
    const db = join(dir, 'prekeyd.db');
    const masterKey = ['--master-key', 'startup-failures-master-key-0123456789'];
    const first = await startServerProcess(process.execPath, [bundle, 'serve', '--port', '0', '--db', db, ...masterKey]);
    try {
      const second = await prekeyd(['serve', '--port', '0', '--db', db, ...masterKey]);
      expectOneLineFailure(second, new RegExp(`database .*prekeyd\\.db is in use by process ${first.child.pid}; stop it first`), expect);
    } finally {
      first.child.kill('SIGKILL'); // leaves its lock file behind
      await first.exited;
    }
    const restarted = await startServerProcess(process.execPath, [bundle, 'serve', '--port', '0', '--db', db, ...masterKey], { timeoutMs: 10_000 });
    expect(await restarted.stop()).toBe(0);
  });
});
