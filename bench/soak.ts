/**
 * `npm run soak`: the crash loop, long. A write and fetch load against a server killed with
 * SIGKILL at random moments, --cycles times; after each restart every acknowledged write must
 * be there and no one-time pre-key may be handed out twice.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { runCrashLoop } from '../test/helpers/crash-loop.ts';
import { createDbPath, removeDir, repoRoot } from '../test/helpers/server-process.ts';

// The bundled server (dist/prekeyd.cjs) starts in a fraction of the time tsx needs for the sources.
execFileSync(process.execPath, ['build.mjs'], { cwd: repoRoot, stdio: 'inherit' });

const { values } = parseArgs({ options: { cycles: { type: 'string' }, 'max-run-ms': { type: 'string' } } });
const { dir, dbPath } = createDbPath();
const started = Date.now();
try {
  const report = await runCrashLoop({
    dbPath,
    cycles: Number(values.cycles ?? 200),
    maxRunMs: Number(values['max-run-ms'] ?? 3000),
    command: [process.execPath, 'dist/prekeyd.cjs'],
    log: (line) => console.log(`${Math.round((Date.now() - started) / 1000)} s ${line}`),
  });
  console.log(`\nsurvived ${report.cycles} SIGKILLs in ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(report)}`);
} finally {
  removeDir(dir);
}
process.exit(0);
