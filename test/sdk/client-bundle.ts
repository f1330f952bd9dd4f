/** Builds the client bundle the way build.mjs does (esbuild, ESM, platform neutral) for runtime tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../helpers/server-process.ts';

export const expectedScenario = {
  sameSecret: true,
  secretLength: 32,
  text: 'Hello Bob!',
  tampered: 'DECRYPTION_FAILED',
  recoveredMatches: true,
  wrongPassword: 'WRONG_PASSWORD',
};

/** Returns the bundle's path, its temp directory, and the modules it was built from. */
export async function buildClientBundle(): Promise<{ dir: string; bundle: string; inputs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'prekeyd-sdk-bundle-'));
  const bundle = join(dir, 'client.js');
  const result = await build({
    entryPoints: [join(repoRoot, 'packages/client/src/index.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    metafile: true,
    logLevel: 'warning',
  });
  return { dir, bundle, inputs: Object.keys(result.metafile.inputs) };
}
