/**
 * The layers' arrows point one way: the composition root (src/app.ts,
 * src/server.ts, src/cli) imports everything; routes import http and domain; http imports
 * domain; domain imports the storage interface, never a backend; store imports no layer above it.
 * Every import of every file under src counts, `import type` and dynamic `import()` included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative import of every source file, as paths from the repository root (`src/app.ts`). */
function importGraph(): Array<{ from: string; to: string }> {
  return sourceFiles(src).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.filter(({ fileName }) => fileName.startsWith('.'))
      .map(({ fileName }) => ({ from: relative(root, file), to: relative(root, resolve(dirname(file), fileName)) })),
  );
}

const compositionRoot = ['src/app.ts', 'src/server.ts', 'src/cli/'];
const storeBackends = ['src/store/sqljs/', 'src/store/postgres/'];

/** Files under `layer` never import anything under `forbidden` (a folder with `/`, or a file). */
const rules: Array<{ layer: string; forbidden: string[] }> = [
  { layer: 'src/http/', forbidden: ['src/routes/', 'src/push/', ...compositionRoot] },
  { layer: 'src/routes/', forbidden: compositionRoot },
  { layer: 'src/push/', forbidden: ['src/routes/', ...compositionRoot] },
  { layer: 'src/domain/', forbidden: ['src/http/', 'src/routes/', 'src/push/', ...storeBackends, ...compositionRoot] },
  { layer: 'src/store/', forbidden: ['src/domain/', 'src/http/', 'src/routes/', 'src/push/', ...compositionRoot] },
];

const within = (path: string, area: string) => (area.endsWith('/') ? path.startsWith(area) : path === area);

describe('import graph of src', () => {
  const graph = importGraph();

  it('is read from the sources (a sanity check of the walk itself)', () => {
    expect(graph.length).toBeGreaterThan(300);
    expect(graph).toContainEqual({ from: 'src/routes/v1-keys/read-routes.ts', to: 'src/domain/bundles.ts' });
  });

  it('has the composition root of the app outside http/', () => {
    const root = graph.filter(({ to }) => to === 'src/app.ts').map(({ from }) => from);
    expect(root).toContain('src/server.ts');
    expect(graph.some(({ from }) => from === 'src/app.ts')).toBe(true);
  });

  for (const { layer, forbidden } of rules) {
    it(`${layer} imports none of ${forbidden.join(', ')}`, () => {
      const violations = graph
        .filter(({ from, to }) => within(from, layer) && forbidden.some((area) => within(to, area)))
        .map(({ from, to }) => `${from} -> ${to}`);
      expect(violations).toEqual([]);
    });
  }
});
