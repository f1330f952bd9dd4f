// Builds dist/prekeyd.cjs: the whole server in one CommonJS file (sql.js's WebAssembly is
// embedded through sql-wasm-inline.js; the ESM-only @noble packages are bundled in).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';

const started = Date.now();
mkdirSync('dist', { recursive: true });

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/prekeyd.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'none',
  // pg's optional native binding is never used; keep it out of the bundle.
  external: ['pg-native'],
  logLevel: 'warning',
});

console.log(`built dist/prekeyd.cjs in ${Date.now() - started} ms`);
