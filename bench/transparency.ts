/**
 * `npm run bench:transparency`: what key transparency costs. The built server as a separate
 * process, once with the log off and once on (`--transparency`, 1 s checkpoints), for bundle
 * fetches (100 key sets, proof attached) and registers; then, in process, the checkpoint signing
 * rate on the embedded store and proof sizes in a tree of 1,000,000 leaves. Ratios are on/off in
 * the same run. Options: --duration SECONDS (default 10), --leaves N (default 1,000,000).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signNextCheckpoint } from '../src/domain/transparency/checkpointer.ts';
import { keySetLeaf } from '../src/domain/transparency/leaves.ts';
import { encodeBase64, encodeHex } from '../packages/client/src/core/encoding.ts';
import { openSqlJsStore } from '../src/store/sqljs/sqljs-store.ts';
import { encodeLeaf } from '../packages/client/src/transparency/leaf.ts';
import { consistencyProof, inclusionProof, leafHash } from '../packages/client/src/transparency/merkle.ts';
import { appendLeafHashes, nodesFromTiles, rightEdge, tileLevels, tilesRead } from '../src/transparency/tiles.ts';
import { runLoad } from './load.ts';
import { spawnBuiltServer } from './processes.ts';
import { identity, seed } from './seed.ts';

const { values } = parseArgs({ options: { duration: { type: 'string' }, leaves: { type: 'string' } } });
const durationSeconds = Number(values.duration ?? 10);
const treeLeaves = Number(values.leaves ?? 1_000_000);
const masterKey = 'bench-master-key-0123456789abcdef0123456789';
const work = mkdtempSync(join(tmpdir(), 'prekeyd-bench-tl-'));
const progress = (line: string) => console.error(`[bench] ${line}`);
if (!existsSync('dist/prekeyd.cjs')) execFileSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });

const preKeys = Array.from({ length: 100 }, (_, i) => ({ keyId: `k_${i}`, publicKey: identity.signedPreKey.publicKey }));

async function serverScenarios(transparency: boolean) {
  const db = join(work, transparency ? 'on' : 'off', 'prekeyd.db');
  mkdirSync(join(work, transparency ? 'on' : 'off'));
  await seed(db, { groups: [{ prefix: 'hot_', count: 100, preKeys: 1000 }] });
  const server = await spawnBuiltServer(db, masterKey, [
    '--rate-limit-keys',
    '0',
    '--rate-limit-bundle',
    '0',
    '--drain-limit',
    '0',
    ...(transparency ? ['--transparency', '--transparency-interval', '1s'] : []),
  ]);
  try {
    // Every key set gets its leaf (and a checkpoint covers it) before the measured run.
    for (let i = 0; i < 100; i++) await fetch(`${server.url}/v1/keys/bundle/hot_${i}`, { headers: { authorization: `Bearer ${masterKey}` } });
    const bundle = await runLoad({ url: server.url, token: masterKey, next: (n) => ({ path: `/v1/keys/bundle/hot_${n % 100}` }), durationSeconds });
    const register = await runLoad({
      url: server.url,
      token: masterKey,
      method: 'POST',
      next: (n) => ({
        path: '/v1/keys/register',
        body: JSON.stringify({ userId: `reg_${n}`, identityKey: identity.identityKey, signedPreKey: identity.signedPreKey, oneTimePreKeys: preKeys }),
      }),
      durationSeconds,
    });
    const sample = await (await fetch(`${server.url}/v1/keys/bundle/hot_1`, { headers: { authorization: `Bearer ${masterKey}` } })).text();
    return { bundle, register, answerBytes: sample.length };
  } finally {
    await server.stop();
  }
}

async function signingRate() {
  const store = await openSqlJsStore({ path: join(work, 'signing.db') });
  const leaf = encodeLeaf(
    keySetLeaf(
      {
        projectId: 'p',
        userId: 'u',
        deviceId: 'd',
        keyFormat: 'v1',
        identityKey: identity.identityKey,
        signedPreKey: identity.signedPreKey,
        lastResortPreKey: null,
        id: 1,
      } as never,
      'key-set.registered',
      new Date(),
    ),
  );
  const record = {
    projectId: 'p',
    leaf: encodeBase64(leaf),
    leafHash: encodeHex(leafHash(leaf)),
    keySetId: 1,
    anchorHash: null,
    createdAt: new Date().toISOString(),
  };
  const options = { origin: 'bench/prekeyd/p', now: new Date(), maxLeaves: 4096 };
  // One leaf per checkpoint: what a quiet log pays per change.
  const singles = 200;
  let started = performance.now();
  for (let i = 0; i < singles; i++) {
    await store.transaction((tx) => tx.transparency.appendLeaf(record));
    await signNextCheckpoint(store, 'p', options);
  }
  const singleMs = (performance.now() - started) / singles;
  // Batches of 4,096 leaves: a busy log's second.
  for (let i = 0; i < 4 * 4096; i++) await store.transaction((tx) => tx.transparency.appendLeaf(record));
  started = performance.now();
  for (let i = 0; i < 4; i++) await signNextCheckpoint(store, 'p', options);
  const batchLeavesPerSecond = (4 * 4096) / ((performance.now() - started) / 1000);
  await store.close();
  return { checkpointsPerSecond: 1000 / singleMs, batchLeavesPerSecond };
}

function proofSizes(size: number) {
  const tiles = new Map<string, Uint8Array>();
  const hashes: Uint8Array[] = [];
  let built = 0;
  const started = performance.now();
  while (built < size) {
    const batch = Math.min(65_536, size - built);
    hashes.length = 0;
    for (let i = 0; i < batch; i++) hashes.push(leafHash(new Uint8Array([i & 255, (i >> 8) & 255, (built >> 16) & 255, built >> 24])));
    const edge = new Map(rightEdge(built).map((at) => [`${at.level}/${at.index}`, tiles.get(`${at.level}/${at.index}`)!]));
    for (const [key, tile] of appendLeafHashes(built, edge, hashes)) tiles.set(key, tile.hashes);
    built += batch;
  }
  const buildSeconds = (performance.now() - started) / 1000;
  const nodes = nodesFromTiles((level, index) => tileLevels(tiles.get(`${level}/${index}`)!));
  const inclusion = inclusionProof(size >> 1, size, nodes);
  const consistency = consistencyProof(size - 1000, size, nodes);
  const tilesForInclusion = tilesRead((n) => inclusionProof(size >> 1, size, n)).length;
  const tileBytes = [...tiles.values()].reduce((sum, tile) => sum + tile.length, 0);
  return { buildSeconds, inclusionHashes: inclusion.length, consistencyHashes: consistency.length, tilesForInclusion, tileBytes };
}

progress('log off: bundle fetch and register');
const off = await serverScenarios(false);
progress('log on: bundle fetch and register');
const on = await serverScenarios(true);
progress('checkpoint signing rate');
const signing = await signingRate();
progress(`proof sizes at ${treeLeaves} leaves`);
const proofs = proofSizes(treeLeaves);
rmSync(work, { recursive: true, force: true });

const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
const result = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  durationSeconds,
  bundle: {
    off: off.bundle,
    on: on.bundle,
    ratio: ratio(on.bundle.requestsPerSecond, off.bundle.requestsPerSecond),
    answerBytes: { off: off.answerBytes, on: on.answerBytes },
  },
  register: { off: off.register, on: on.register, ratio: ratio(on.register.requestsPerSecond, off.register.requestsPerSecond) },
  signing,
  proofs: { leaves: treeLeaves, ...proofs },
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/transparency-latest.json', `${JSON.stringify(result, null, 2)}\n`);
const row = (name: string, a: { requestsPerSecond: number; p50: number; p99: number }, b: typeof a, r: number) =>
  `| ${name} | ${Math.round(a.requestsPerSecond)} | ${Math.round(b.requestsPerSecond)} | ${r} | ${a.p99} / ${b.p99} |`;
console.log(`| scenario | log off req/s | log on req/s | on / off | p99 ms off / on |
| --- | ---: | ---: | ---: | ---: |
${row('bundle fetch, 100 key sets (proof attached)', off.bundle, on.bundle, result.bundle.ratio)}
${row('register with 100 pre-keys (leaf appended)', off.register, on.register, result.register.ratio)}

| figure | value |
| --- | ---: |
| bundle answer size off / on | ${off.answerBytes} / ${on.answerBytes} bytes |
| checkpoints signed a second, one new leaf each (embedded store, durable) | ${Math.round(signing.checkpointsPerSecond)} |
| leaves a second into checkpoints of 4,096 | ${Math.round(signing.batchLeavesPerSecond)} |
| inclusion proof at ${treeLeaves} leaves | ${proofs.inclusionHashes} hashes = ${proofs.inclusionHashes * 32} bytes (${proofs.inclusionHashes * 47} bytes as JSON base64 strings) |
| consistency proof ${treeLeaves - 1000} → ${treeLeaves} | ${proofs.consistencyHashes} hashes = ${proofs.consistencyHashes * 32} bytes |
| tiles read for one inclusion proof | ${proofs.tilesForInclusion} |
| hash tiles of the whole tree | ${(proofs.tileBytes / 2 ** 20).toFixed(1)} MiB |
| building the tiles of ${treeLeaves} leaves in memory | ${proofs.buildSeconds.toFixed(1)} s |`);
