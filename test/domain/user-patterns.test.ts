/** user-patterns.ts: matching and containment checked against brute force; the caps. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runApiKeys } from '../../src/cli/api-keys.ts';
import { matchesPattern, patternWithin, userIdPatternLimits, userIdPatternProblem } from '../../src/domain/user-patterns.ts';

/** Reference semantics: dynamic programming over (pattern position, text position). */
function bruteMatch(pattern: string, text: string): boolean {
  let row = new Array<boolean>(text.length + 1).fill(false);
  row[0] = true;
  for (const char of pattern) {
    const next = new Array<boolean>(text.length + 1).fill(false);
    for (let j = 0; j <= text.length; j++) {
      if (char === '*') next[j] = row[j]! || (j > 0 && next[j - 1]!);
      else next[j] = j > 0 && row[j - 1]! && text[j - 1] === char;
    }
    row = next;
  }
  return row[text.length]!;
}

/** Every word over `letters` up to `maxLength`. */
function* words(letters: string, maxLength: number): Generator<string> {
  let level = [''];
  for (let length = 0; length <= maxLength; length++) {
    yield* level;
    level = level.flatMap((word) => [...letters].map((letter) => word + letter));
  }
}

// Literals use a and b; words add c, a letter no pattern holds (the exactness condition).
const pattern = fc.array(fc.constantFrom('a', 'b', '*'), { minLength: 1, maxLength: 6 }).map((chars) => chars.join(''));

describe('matchesPattern', () => {
  it('agrees with the reference semantics', () => {
    fc.assert(
      fc.property(pattern, fc.array(fc.constantFrom('a', 'b', 'c', '*'), { maxLength: 10 }), (p, chars) => {
        const text = chars.join('');
        expect(matchesPattern(p, text)).toBe(bruteMatch(p, text));
      }),
      { numRuns: 3000 },
    );
  });

  it('stays linear on the patterns that blew up a backtracking RegExp', () => {
    const evil = `team_${'*a'.repeat(60)}*b`;
    const text = `team_${'a'.repeat(5000)}`;
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(matchesPattern(evil, text)).toBe(false);
    // A bound a linear matcher meets by orders of magnitude; backtracking would never finish.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('patternWithin', () => {
  it('is exactly L(inner) ⊆ L(outer), by brute force over a small alphabet', () => {
    fc.assert(
      fc.property(pattern, pattern, (inner, outer) => {
        // Every word up to one letter longer than inner: includes the witness (each star one fresh c).
        const maxLength = inner.length + 1;
        let contained = true;
        for (const word of words('abc', maxLength)) {
          if (bruteMatch(inner, word) && !bruteMatch(outer, word)) {
            contained = false;
            break;
          }
        }
        expect(patternWithin(inner, outer)).toBe(contained);
      }),
      { numRuns: 400 },
    );
  });

  it('lets team_* grant its own users only', () => {
    expect(patternWithin('team_a*', 'team_*')).toBe(true);
    expect(patternWithin('team_42', 'team_*')).toBe(true);
    expect(patternWithin('team_*a*b', 'team_*')).toBe(true);
    expect(patternWithin('*', 'team_*')).toBe(false);
    expect(patternWithin('team*', 'team_*')).toBe(false);
    expect(patternWithin('other', 'team_*')).toBe(false);
  });
});

describe('caps', () => {
  it('refuses too many wildcards, bad characters and overlong patterns', () => {
    const { maxWildcards, maxLength } = userIdPatternLimits;
    expect(userIdPatternProblem(`u${'*x'.repeat(maxWildcards)}`)).toBeUndefined();
    expect(userIdPatternProblem(`u${'*x'.repeat(maxWildcards + 1)}`)).toMatch(/wildcards/);
    expect(userIdPatternProblem('team_(a+)+')).toMatch(/may contain only/);
    expect(userIdPatternProblem('a'.repeat(maxLength + 1))).toMatch(/characters/);
    expect(userIdPatternProblem('')).toMatch(/characters/);
  });

  it('are enforced by the offline `prekeyd api-keys create` too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prekeyd-patterns-'));
    try {
      const err: string[] = [];
      const code = await runApiKeys(
        ['create', '--project', 'p1', '--acl', 'keys.read', '--user-ids', `team_${'*a'.repeat(14)}*b`, '--db', join(dir, 'db')],
        { out: () => undefined, err: (line) => err.push(line) },
      );
      expect(code).toBe(2);
      expect(err.join('\n')).toMatch(/--user-ids: at most 8 \* wildcards/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
