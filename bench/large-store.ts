/**
 * A large embedded database end to end (issue 17): seeds key sets × one-time pre-keys, starts the
 * built server on it, and reports how long it takes to start, its RSS idle, a bundle fetch
 * against it, a clean stop (which checkpoints) and a second start.
 *
 *   npm run bench:large -- [--key-sets 100000] [--pre-keys 100]
 *   (the server is dist/prekeyd.cjs, built by that command)
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rssMiB, spawnBuiltServer } from './processes.ts';
import { seed } from './seed.ts';

const { values } = parseArgs({ options: { 'key-sets': { type: 'string' }, 'pre-keys': { type: 'string' } } });
const keySets = Number(values['key-sets'] ?? 100_000);
const preKeys = Number(values['pre-keys'] ?? 100);
const masterKey = 'b'.repeat(64);
const work = mkdtempSync(join(tmpdir(), 'prekeyd-large-'));
const db = join(work, 'data', 'prekeyd.db');
mkdirSync(join(work, 'data'));
const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(0);

const seedStarted = performance.now();
await seed(db, { groups: [{ prefix: 'u_', count: keySets, preKeys }] });
console.log(
  `seeded ${keySets.toLocaleString()} key sets x ${preKeys} pre-keys in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s: ${mib(statSync(db).size)} MiB`,
);

async function start() {
  const t0 = performance.now();
  const server = await spawnBuiltServer(db, masterKey);
  const startMs = Math.round(performance.now() - t0);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // let start-up garbage go
  return { server, startMs, rssIdleMiB: rssMiB(server.pid) };
}

const first = await start();
const fetchStarted = performance.now();
const response = await fetch(`${first.server.url}/v1/keys/bundle/u_${keySets - 1}`, { headers: { authorization: `Bearer ${masterKey}` } });
const fetchMs = +(performance.now() - fetchStarted).toFixed(1);
const remaining = ((await response.json()) as { data: { remainingOneTimePreKeys: number } }).data.remainingOneTimePreKeys;
const stopStarted = performance.now();
await first.server.stop();
const stopMs = Math.round(performance.now() - stopStarted);
const second = await start();
await second.server.stop();

const result = {
  keySets,
  preKeys,
  cores: cpus().length,
  node: process.version,
  databaseMiB: mib(statSync(db).size),
  firstStartMs: first.startMs,
  rssIdleMiB: first.rssIdleMiB,
  bundleFetch: { status: response.status, ms: fetchMs, remaining },
  stopWithCheckpointMs: stopMs,
  secondStartMs: second.startMs,
  secondRssIdleMiB: second.rssIdleMiB,
};
console.log(JSON.stringify(result, null, 2));
rmSync(work, { recursive: true, force: true });
