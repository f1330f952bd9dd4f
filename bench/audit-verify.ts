/**
 * `npm run bench:audit-verify`: other tenants' latency while a long audit chain is verified.
 * Seeds --entries audit entries (default 1,000,000) in one project straight through the storage
 * interface, starts the built server, then measures the p50/p99 of another project's requests
 * (a key-set verify, 32 connections) alone and while `GET /v1/keys/audit/verify` of the long chain
 * runs back to back. Reports the ratio of the two p99s (1.0 = unchanged). --db postgres://… for
 * the PostgreSQL backend, --duration SECONDS per phase.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { appendAudit } from '../src/domain/audit.ts';
import { masterPrincipal } from '../src/domain/principal.ts';
import { openStore } from '../src/store/open-store.ts';
import { freshDatabase } from './databases.ts';
import { runLoad } from './load.ts';
import { spawnBuiltServer } from './processes.ts';
import { identity, randomKeyHex } from './seed.ts';

const { values } = parseArgs({ options: { db: { type: 'string' }, entries: { type: 'string' }, duration: { type: 'string' } } });
const entries = Number(values.entries ?? 1_000_000);
const durationSeconds = Number(values.duration ?? 10);
const masterKey = 'bench-master-key-0123456789abcdef0123456789';
const work = mkdtempSync(join(tmpdir(), 'prekeyd-bench-audit-'));
const longProject = 'long_chain';

if (!existsSync('dist/prekeyd.cjs')) execFileSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });

try {
  const db = await freshDatabase(values.db ?? join(work, 'prekeyd.db'));
  const seeding = performance.now();
  const store = await openStore(db);
  const caller = { principal: masterPrincipal(longProject), projectId: longProject, ipAddress: null };
  for (let done = 0; done < entries; done += 5000) {
    await store.transaction(async (tx) => {
      const now = new Date();
      for (let i = done; i < Math.min(entries, done + 5000); i++) await appendAudit(tx, caller, now, { action: 'KEY_VERIFIED', userId: `u${i % 1000}` });
    });
  }
  await store.close();
  console.log(`seeded ${entries} audit entries in ${Math.round((performance.now() - seeding) / 1000)} s`);

  const server = await spawnBuiltServer(db, masterKey, ['--rate-limit-keys', '0', '--rate-limit-bundle', '0']);
  try {
    const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };
    const registered = await fetch(`${server.url}/v1/keys/register`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        userId: 'bystander',
        identityKey: identity.identityKey,
        signedPreKey: identity.signedPreKey,
        oneTimePreKeys: [{ keyId: 'k1', publicKey: randomKeyHex() }],
      }),
    });
    if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
    const load = () => runLoad({ url: server.url, token: masterKey, next: () => ({ path: '/v1/keys/verify/bystander' }), durationSeconds });

    const alone = await load();
    let verifying = true;
    const walks: number[] = [];
    const verifier = (async () => {
      while (verifying) {
        const started = performance.now();
        const response = await fetch(`${server.url}/v1/keys/audit/verify`, { headers: { ...headers, 'x-project-id': longProject } });
        const { data } = (await response.json()) as { data: { valid: boolean; entries: number } };
        if (!data.valid || data.entries !== entries) throw new Error(`verification answered ${JSON.stringify(data)}`);
        walks.push(performance.now() - started);
      }
    })();
    const during = await load();
    verifying = false;
    await verifier;

    const row = (name: string, result: typeof alone) => `| ${name} | ${result.requestsPerSecond} | ${result.p50} | ${result.p99} | ${result.non2xx} |`;
    console.log(`\nbackend ${values.db?.startsWith('postgres') ? 'postgres' : 'sqljs'}, ${entries} audit entries in another project\n`);
    console.log('| other project: GET /v1/keys/verify | req/s | p50 ms | p99 ms | non-2xx |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(row('alone', alone));
    console.log(row('while the chain is verified back to back', during));
    console.log(
      `\np99 ratio (during / alone): ${(during.p99 / Math.max(alone.p99, 1)).toFixed(2)}; ${walks.length} verifications finished, ` +
        `median ${Math.round(walks.sort((a, b) => a - b)[Math.floor(walks.length / 2)] ?? 0)} ms each`,
    );
  } finally {
    await server.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
