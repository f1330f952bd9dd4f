// The esbuild options of the operator console's front end, shared by build.mjs (which inlines the
// result into the server bundle) and by src/routes/console/assets.ts (which builds it on first
// request when prekeyd runs from source).
export const consoleEntry = 'src/console/main.tsx';

/** @param {string} root the repository root */
export const consoleBuildOptions = (root) => ({
  absWorkingDir: root,
  entryPoints: [consoleEntry],
  outdir: 'console-out',
  entryNames: 'app',
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120'],
  minify: true,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
});
