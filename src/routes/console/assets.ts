/**
 * The operator console's front end (src/console), as the files /console serves. Running from
 * source, it is built with esbuild on first request; build.mjs replaces this module with the
 * files built and inlined (gzipped), so the bundle and the executable carry them and need no
 * esbuild, no node_modules and no network.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const consoleAssetNames = ['app.js', 'app.css'] as const;
export type ConsoleAssetName = (typeof consoleAssetNames)[number];

export interface ConsoleAsset {
  gzip: Uint8Array;
  /** Content hash: the ETag, and the `?v=` of the page's references so that caches never serve a stale build. */
  etag: string;
}

let built: Promise<Record<ConsoleAssetName, ConsoleAsset>> | undefined;

async function buildFromSource(): Promise<Record<ConsoleAssetName, ConsoleAsset>> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const [{ build }, { consoleBuildOptions }] = await Promise.all([import('esbuild'), import('../../console/build-config.mjs')]);
  const result = await build(consoleBuildOptions(root));
  const assets: Partial<Record<ConsoleAssetName, ConsoleAsset>> = {};
  for (const file of result.outputFiles) {
    const name = consoleAssetNames.find((candidate) => file.path.endsWith(`/${candidate}`));
    if (!name) continue;
    assets[name] = { gzip: gzipSync(file.contents, { level: 9 }), etag: createHash('sha256').update(file.contents).digest('hex').slice(0, 16) };
  }
  for (const name of consoleAssetNames) if (!assets[name]) throw new Error(`console build produced no ${name}`);
  return assets as Record<ConsoleAssetName, ConsoleAsset>;
}

export function consoleAssets(): Promise<Record<ConsoleAssetName, ConsoleAsset>> {
  built ??= buildFromSource().catch((error: unknown) => {
    built = undefined; // a later request tries again (e.g. after a syntax error is fixed)
    throw error;
  });
  return built;
}
