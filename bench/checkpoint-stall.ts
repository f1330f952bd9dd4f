/**
 * How long requests wait while the embedded store checkpoints a large database: the image exported
 * in place (under the transaction lock, on the event loop) against the image built by a worker
 * thread from the files, in the same run on copies of one seeded database. Measured at the store:
 * 8 loops commit small write transactions back to back (each as durable as a request's) while one
 * checkpoint runs; a 1 ms timer records how long the event loop was blocked.
 *
 *   node --import tsx bench/checkpoint-stall.ts [--key-sets 20000] [--pre-keys 100]
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CheckpointInfo, DurableDatabase } from '../src/store/sqljs/durable-database.ts';
import { seed } from './seed.ts';

const { values } = parseArgs({ options: { 'key-sets': { type: 'string' }, 'pre-keys': { type: 'string' } } });
const keySets = Number(values['key-sets'] ?? 20_000);
const preKeys = Number(values['pre-keys'] ?? 100);
const work = mkdtempSync(join(tmpdir(), 'prekeyd-stall-'));
const seeded = join(work, 'seeded', 'prekeyd.db');
mkdirSync(join(work, 'seeded'));

const started = performance.now();
await seed(seeded, { groups: [{ prefix: 'u_', count: keySets, preKeys }] });
const imageBytes = statSync(seeded).size;
console.log(
  `seeded ${keySets.toLocaleString()} key sets x ${preKeys} pre-keys: ${(imageBytes / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function measure(mode: 'in place' | 'worker') {
  const dir = join(work, mode.replace(' ', '-'));
  mkdirSync(dir);
  const path = join(dir, 'prekeyd.db');
  copyFileSync(seeded, path);
  let info: CheckpointInfo | undefined;
  const db = await DurableDatabase.open({ path, offThreadImageBytes: mode === 'worker' ? 0 : Number.POSITIVE_INFINITY, onCheckpoint: (i) => (info ??= i) });
  await db.transaction((tx) => tx.run('CREATE TABLE IF NOT EXISTS bench_writes (id INTEGER PRIMARY KEY, v TEXT NOT NULL)'));

  let phase: 'before' | 'during' | 'after' = 'before';
  const latencies = { before: [] as number[], during: [] as number[] };
  let maxLoopStall = 0;
  let lastTick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (phase === 'during') maxLoopStall = Math.max(maxLoopStall, now - lastTick - 1);
    lastTick = now;
  }, 1);
  const loop = async () => {
    while (phase !== 'after') {
      const t0 = performance.now();
      const at = phase; // never 'after' inside the loop
      await db.transaction((tx) => tx.run('INSERT INTO bench_writes (v) VALUES (?)', [`${t0}`]));
      latencies[at].push(performance.now() - t0);
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  phase = 'during';
  lastTick = performance.now();
  const t0 = performance.now();
  await db.checkpoint();
  const checkpointMs = performance.now() - t0;
  phase = 'after';
  await Promise.all(loops);
  clearInterval(ticker);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  const before = latencies.before.sort((a, b) => a - b);
  const during = latencies.during.sort((a, b) => a - b);
  return {
    mode: info?.image ?? mode,
    checkpointMs: Math.round(checkpointMs),
    commitsDuring: during.length,
    p99BeforeMs: +quantile(before, 0.99).toFixed(1),
    p99DuringMs: +quantile(during, 0.99).toFixed(1),
    maxDuringMs: +(during.at(-1) ?? 0).toFixed(1),
    maxLoopStallMs: +maxLoopStall.toFixed(1),
  };
}

const inPlace = await measure('in place');
const worker = await measure('worker');
console.log(`\ncheckpoint of a ${(imageBytes / 2 ** 20).toFixed(0)} MiB database, ${cpus().length} cores, node ${process.version}\n`);
console.log('| image built | checkpoint ms | commits during it | p99 before ms | p99 during ms | max during ms | longest event-loop stall ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of [inPlace, worker]) {
  console.log(`| ${r.mode} | ${r.checkpointMs} | ${r.commitsDuring} | ${r.p99BeforeMs} | ${r.p99DuringMs} | ${r.maxDuringMs} | ${r.maxLoopStallMs} |`);
}
console.log(`\nmax wait during the checkpoint, worker / in place: ${(worker.maxDuringMs / inPlace.maxDuringMs).toFixed(3)}`);
rmSync(work, { recursive: true, force: true });
