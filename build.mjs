// Builds, from src/cli/main.ts (the client SDK: packages/client/build.mjs):
//   dist/prekeyd.cjs  the whole server in one CommonJS file (sql.js's WebAssembly is embedded
//                     through sql-wasm-inline.js; the ESM-only @noble packages are bundled in);
//   dist/prekeyd      one executable that needs no Node.js on the machine: Node's own
//                     single-executable-application (SEA) support — a copy of the running `node`
//                     with the bundle injected by `postject`. Offline: nothing is downloaded.
//
// Usage: node build.mjs [--outdir DIR] [--bundle-only]
// (tests build into a temporary directory so that they never race with `dist/`.)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import postject from 'postject';

const root = dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: {
    outdir: { type: 'string', default: 'dist' },
    'bundle-only': { type: 'boolean', default: false },
  },
});
const outdir = resolve(root, options.outdir);
const bundlePath = join(outdir, 'prekeyd.cjs');
const executablePath = join(outdir, process.platform === 'win32' ? 'prekeyd.exe' : 'prekeyd');
// The fuse Node's SEA loader looks for; postject flips it once the blob is injected.
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

// src/routes/docs/assets.ts reads Swagger UI's files from node_modules at run time; in the bundle
// (and so the executable, which has no node_modules) that module is replaced by the files inlined.
const inlineDocsAssets = {
  name: 'inline-docs-assets',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]src[\\/]routes[\\/]docs[\\/]assets\.ts$/ }, ({ path }) => {
      const list = /docsAssetNames\s*=\s*(\[[^\]]*\])/.exec(readFileSync(path, 'utf8'))?.[1];
      if (!list) throw new Error(`${path}: no docsAssetNames = [...] to inline`);
      const names = JSON.parse(list.replaceAll("'", '"'));
      const fromRoot = createRequire(join(root, 'package.json'));
      // Gzipped: a fifth of the size, so the bundle parses faster at every start; inflated on first use.
      const files = Object.fromEntries(
        names.map((name) => [name, gzipSync(readFileSync(fromRoot.resolve(`swagger-ui-dist/${name}`)), { level: 9 }).toString('base64')]),
      );
      const contents =
        "import { gunzipSync } from 'node:zlib';\n" +
        `export const docsAssetNames = ${JSON.stringify(names)};\n` +
        `const files = ${JSON.stringify(files)};\n` +
        'const inflated = new Map();\n' +
        'export const docsAsset = async (name) => {\n' +
        "  if (!inflated.has(name)) inflated.set(name, gunzipSync(Buffer.from(files[name], 'base64')).toString('utf8'));\n" +
        '  return inflated.get(name);\n' +
        '};\n';
      return { contents, loader: 'js' };
    });
  },
};

// src/routes/console/assets.ts builds the operator console (src/console) with esbuild at run time
// when prekeyd runs from source; here it is built once and inlined, gzipped, with its content hashes.
const inlineConsoleAssets = {
  name: 'inline-console-assets',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]src[\\/]routes[\\/]console[\\/]assets\.ts$/ }, async () => {
      const { consoleBuildOptions } = await import('./src/console/build-config.mjs');
      const result = await build(consoleBuildOptions(root));
      const files = {};
      for (const file of result.outputFiles) {
        const name = file.path.split(/[\\/]/).at(-1);
        files[name] = {
          gzip: gzipSync(file.contents, { level: 9 }).toString('base64'),
          etag: createHash('sha256').update(file.contents).digest('hex').slice(0, 16),
        };
      }
      for (const name of ['app.js', 'app.css']) if (!files[name]) throw new Error(`console build produced no ${name}`);
      const contents =
        "export const consoleAssetNames = ['app.js', 'app.css'];\n" +
        `const files = ${JSON.stringify(files)};\n` +
        'let assets;\n' +
        'export const consoleAssets = async () => (assets ??= Object.fromEntries(\n' +
        "  Object.entries(files).map(([name, file]) => [name, { gzip: new Uint8Array(Buffer.from(file.gzip, 'base64')), etag: file.etag }]),\n" +
        '));\n';
      return { contents, loader: 'js' };
    });
  },
};

// The executable has no files to start a worker thread from: the checkpoint image worker
// (src/store/sqljs/image-worker.ts, with its own sql.js) is bundled into a string, gzipped, and
// started with `eval` by the module that replaces src/store/sqljs/image-worker-start.ts.
const inlineImageWorker = {
  name: 'inline-image-worker',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]src[\\/]store[\\/]sqljs[\\/]image-worker-start\.ts$/ }, async () => {
      const result = await build({
        absWorkingDir: root,
        entryPoints: ['src/store/sqljs/image-worker.ts'],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        minifySyntax: true,
        legalComments: 'none',
        write: false,
        logLevel: 'warning',
      });
      const code = gzipSync(result.outputFiles[0].contents, { level: 9 }).toString('base64');
      const contents =
        "import { Worker } from 'node:worker_threads';\n" +
        "import { gunzipSync } from 'node:zlib';\n" +
        `const code = ${JSON.stringify(code)};\n` +
        'let source;\n' +
        'export const startImageWorker = (job) =>\n' +
        "  new Worker((source ??= gunzipSync(Buffer.from(code, 'base64')).toString('utf8')), { eval: true, workerData: job });\n";
      return { contents, loader: 'js' };
    });
  },
};

const started = Date.now();
const size = (path) => `${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB`;
mkdirSync(outdir, { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: bundlePath,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'none',
  // pg's optional native binding is never used; keep it out of the bundle.
  external: ['pg-native'],
  // ws would try to require() its optional native add-ons at start-up; the bundle has none, and
  // in the executable such a require prints a Node warning. These make ws skip the attempt.
  define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
  plugins: [inlineDocsAssets, inlineConsoleAssets, inlineImageWorker],
  logLevel: 'warning',
});
console.log(`built ${bundlePath} (${size(bundlePath)}) in ${Date.now() - started} ms`);

// The client SDK is its own package (packages/client, `npm run build -w @prekeyd/client`).

if (!options['bundle-only']) {
  const executableStarted = Date.now();
  const stripped = await buildExecutable();
  console.log(
    `built ${executablePath} (${size(executablePath)}, Node ${process.version} SEA${stripped ? ', stripped' : ''}) ` +
      `in ${Date.now() - executableStarted} ms`,
  );
}

/** Node SEA: bundle → blob (with V8 code cache) → copy of this `node` → inject the blob. */
async function buildExecutable() {
  if (!readFileSync(process.execPath).includes(seaFuse)) {
    throw new Error(`${process.execPath} has no single-executable support (${seaFuse} missing); use an official Node.js build`);
  }
  const seaConfigPath = join(outdir, 'sea-config.json');
  const blobPath = join(outdir, 'prekeyd.blob');
  const partialPath = `${executablePath}.partial`;
  writeFileSync(
    seaConfigPath,
    JSON.stringify({
      main: bundlePath,
      output: blobPath,
      // The executable's output is the server's own, without Node's "experimental" notice.
      disableExperimentalSEAWarning: true,
      // V8's compiled code in the blob: ~30 ms less CPU at start-up for ~4 MB. (`useSnapshot`
      // is no option on Node 20: its snapshot builder cannot load node:http.)
      useCodeCache: true,
    }),
  );
  // Quiet unless it fails (the error then carries its stderr).
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfigPath], { stdio: 'pipe' });

  rmSync(partialPath, { force: true });
  copyFileSync(process.execPath, partialPath);
  chmodSync(partialPath, 0o755);
  // Node's debug symbols are ~12 MB of the binary; drop them where `strip` exists (it keeps the
  // dynamic symbol table, the only one used at run time).
  const stripped = process.platform === 'linux' && spawnSync('strip', [partialPath], { stdio: 'ignore' }).status === 0;
  if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', partialPath]);
  // postject's ELF parser warns about each note section it cannot name (harmless): shown only
  // if the injection fails.
  const parserWarnings = [];
  const warn = console.warn;
  console.warn = (...args) => parserWarnings.push(args.join(' '));
  try {
    await postject.inject(partialPath, 'NODE_SEA_BLOB', readFileSync(blobPath), {
      sentinelFuse: seaFuse,
      machoSegmentName: 'NODE_SEA',
    });
  } catch (error) {
    for (const line of parserWarnings) warn(line);
    throw error;
  } finally {
    console.warn = warn;
  }
  if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', partialPath]);
  // Renamed only when complete, so a failed build never leaves a half-made executable behind.
  renameSync(partialPath, executablePath);
  rmSync(blobPath, { force: true });
  rmSync(seaConfigPath, { force: true });
  return stripped;
}
