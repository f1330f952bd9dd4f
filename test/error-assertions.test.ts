/**
 * Guard: a test that asserts a 4xx status also asserts the `errorCode` (SPEC §6), with
 * `expectError` (test/helpers/errors.ts) or an `errorCode` check beside it (three lines before,
 * four after), so that an answer with the right status and the wrong code cannot pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const testRoot = import.meta.dirname;
/** Run by `npm run test:browser` against the console's own client; its 401 has no envelope to read there. */
const exempt = new Set(['browser/console.browser.ts', 'error-assertions.test.ts']);

function statusOnlyAssertions(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(testRoot, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const file = relative(testRoot, join(entry.parentPath, entry.name));
    if (exempt.has(file)) continue;
    const lines = readFileSync(join(testRoot, file), 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (!/\.status\)\.toBe\(4\d\d\)/.test(line)) return;
      if (!lines.slice(Math.max(0, index - 3), index + 5).some((near) => near.includes('errorCode'))) found.push(`${file}:${index + 1}`);
    });
  }
  return found;
}

describe('error tests', () => {
  it('check errorCode wherever they check a 4xx status', () => {
    expect(statusOnlyAssertions()).toEqual([]);
  });
});
