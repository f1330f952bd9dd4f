/**
 * The Swagger UI files served at /docs, so the docs work with no internet access. In
 * development they are read from node_modules; build.mjs replaces this module with the files
 * inlined, so the bundle and the executable carry them.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export const docsAssetNames = ['swagger-ui-bundle.js', 'swagger-ui.css'] as const;
export type DocsAssetName = (typeof docsAssetNames)[number];

const cache = new Map<DocsAssetName, Promise<string>>();

export function docsAsset(name: DocsAssetName): Promise<string> {
  let asset = cache.get(name);
  if (!asset) {
    const require = createRequire(import.meta.url);
    asset = readFile(require.resolve(`swagger-ui-dist/${name}`), 'utf8');
    cache.set(name, asset);
  }
  return asset;
}
