#!/usr/bin/env node
// `prekeyd` from a clone: the built bundle (dist/prekeyd.cjs) once `npm run build` made it,
// else the TypeScript sources through tsx (a dev dependency), so every command of the README
// runs right after `npm ci`. Set PREKEYD_FROM_SOURCE=1 to run the sources even when built.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'prekeyd.cjs');

if (existsSync(bundle) && process.env.PREKEYD_FROM_SOURCE !== '1') {
  createRequire(import.meta.url)(bundle);
} else {
  // The same hooks as `node --import tsx`: registered before the first .ts file is imported.
  await import('tsx').catch(() => {
    console.error('prekeyd: neither dist/prekeyd.cjs nor tsx is here: run `npm ci` first (and `npm run build` for the bundle)');
    process.exit(2);
  });
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
