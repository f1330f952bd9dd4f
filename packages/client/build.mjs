// Builds @prekeyd/client into dist/: ESM (dist/esm) and CommonJS (dist/cjs), each one file with
// its type declarations beside it. @noble/* is bundled in: the package then has no dependency
// to install, and `require()` works on Node 20, where the ESM-only @noble v2 could not be required.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
for (const format of ['esm', 'cjs']) {
  const outdir = join(dist, format);
  mkdirSync(outdir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: ['src/index.ts'],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    format,
    platform: 'neutral',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning',
  });
  // The nearest package.json decides how Node and TypeScript read index.js and its .d.ts files.
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: format === 'esm' ? 'module' : 'commonjs' })}\n`);
  // tsconfig.json: DOM and ES2023 only, no @types/node: the SDK's types need nothing else.
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', outdir], { cwd: root, stdio: 'inherit' });
  console.log(`built ${join(outdir, 'index.js')} (${(statSync(join(outdir, 'index.js')).size / 1024).toFixed(0)} KiB)`);
}
