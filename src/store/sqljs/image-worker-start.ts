// Starts the image worker (image-worker.ts) from the sources. The bundle and the executable have no
// files to start a worker from: build.mjs replaces this module with one that starts the worker
// bundled into a string.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ImageJob } from './snapshot-image.ts';

export function startImageWorker(job: ImageJob): Worker {
  const entry = new URL('./image-worker.ts', import.meta.url);
  if ('Deno' in globalThis) return new Worker(entry, { workerData: job }); // Deno runs TypeScript itself
  // Node: the TypeScript through tsx (a dev dependency, as for bin/prekeyd.mjs); its ESM API, since
  // hooks registered here do not reach a worker.
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const code = `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(tsxApi)}))`;
  return new Worker(code, { eval: true, workerData: job });
}
