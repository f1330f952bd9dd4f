/**
 * `userIds` patterns of API keys: `*` matches any run of characters, everything else is literal.
 * No RegExp is ever built from a pattern: a backtracking engine takes exponential time on
 * `a*a*a*…b` (issue 16). Matching here is linear in pattern plus text, whatever the pattern —
 * also for patterns stored before the caps below existed.
 *
 * Containment ("every user A admits, B admits too") is decided by matching B against A's text,
 * A's `*` kept as a character that only a `*` of B can absorb (no literal contains `*`):
 * - if B matches that text, every word of A is B's match with each of A's `*` replaced by its
 *   substring, which lies inside a run absorbed by one of B's `*`: L(A) ⊆ L(B);
 * - conversely, if L(A) ⊆ L(B), replace each `*` of A by a letter c that B does not contain: the
 *   word is in L(B), and as no literal of B holds c, every c is absorbed by a `*` of B; reading
 *   c as `*` again, B matches A's text.
 * So the decision is exact whenever B leaves one character of the charset unused (any B with
 * fewer than 68 distinct characters); otherwise it stays sound: it never admits more than B.
 *
 * @example
 * matchesPattern('team_*', 'team_42');     // true
 * patternWithin('team_a*', 'team_*');      // true: a key holding team_* may grant team_a*
 * patternWithin('*', 'team_*');            // false
 */
import { AppError, type ErrorDetail } from './errors.ts';

/** Caps on what a key may be given (creation and update); see README "Limits and quotas". */
export const userIdPatternLimits = {
  /** Characters per pattern (a user id has at most 128). */
  maxLength: 128,
  /** `*` per pattern: enough for `org:*:user:*`-style schemes. */
  maxWildcards: 8,
  /** Patterns per key. */
  maxPatterns: 100,
} as const;

/** SPEC §3's user id characters (plus `+` for E.164), and `*`. */
const patternCharacters = /^[A-Za-z0-9._:@+*-]+$/;

interface Segment {
  text: string;
  /** KMP failure function: longest proper border of text[0..i]. */
  border: Int32Array;
}

interface CompiledPattern {
  /** Set when the pattern has no `*`: it matches exactly this text. */
  exact?: string;
  prefix: string;
  suffix: string;
  middle: Segment[];
  minLength: number;
}

function segment(text: string): Segment {
  const border = new Int32Array(text.length);
  for (let i = 1, k = 0; i < text.length; i++) {
    while (k > 0 && text[i] !== text[k]) k = border[k - 1]!;
    if (text[i] === text[k]) k++;
    border[i] = k;
  }
  return { text, border };
}

function compile(pattern: string): CompiledPattern {
  if (!pattern.includes('*')) return { exact: pattern, prefix: '', suffix: '', middle: [], minLength: pattern.length };
  const parts = pattern.split('*');
  const prefix = parts[0]!;
  const suffix = parts[parts.length - 1]!;
  // `a**b` is `a*b`: empty parts between stars add nothing.
  const middle = parts
    .slice(1, -1)
    .filter((part) => part.length > 0)
    .map(segment);
  const minLength = prefix.length + suffix.length + middle.reduce((sum, part) => sum + part.text.length, 0);
  return { prefix, suffix, middle, minLength };
}

/** End of the leftmost occurrence of `part` in text[from, to), or -1 (Knuth–Morris–Pratt: linear). */
function findSegment(text: string, from: number, to: number, part: Segment): number {
  const { text: needle, border } = part;
  for (let i = from, k = 0; i < to; i++) {
    while (k > 0 && text[i] !== needle[k]) k = border[k - 1]!;
    if (text[i] === needle[k]) k++;
    if (k === needle.length) return i + 1;
  }
  return -1;
}

const compiled = new Map<string, CompiledPattern>();

function compiledPattern(pattern: string): CompiledPattern {
  let found = compiled.get(pattern);
  if (!found) {
    found = compile(pattern);
    if (compiled.size >= 10_000) compiled.clear();
    compiled.set(pattern, found);
  }
  return found;
}

/**
 * Whether `pattern` admits `text`. Leftmost-first placement of the literal parts between
 * stars is optimal (a later placement leaves less room for the rest), so no backtracking.
 */
export function matchesPattern(pattern: string, text: string): boolean {
  if (pattern === '*') return true;
  const { exact, prefix, suffix, middle, minLength } = compiledPattern(pattern);
  if (exact !== undefined) return exact === text;
  if (text.length < minLength || !text.startsWith(prefix) || !text.endsWith(suffix)) return false;
  let position = prefix.length;
  const end = text.length - suffix.length;
  for (const part of middle) {
    position = findSegment(text, position, end, part);
    if (position < 0) return false;
  }
  return true;
}

/** Whether every user `inner` admits is admitted by `outer` (see the module comment). */
export const patternWithin = (inner: string, outer: string): boolean => matchesPattern(outer, inner);

/** Why a pattern may not be given to a key, or undefined when it may. */
export function userIdPatternProblem(pattern: string): string | undefined {
  const { maxLength, maxWildcards } = userIdPatternLimits;
  if (pattern.length < 1 || pattern.length > maxLength) return `must be 1-${maxLength} characters`;
  if (!patternCharacters.test(pattern)) return 'may contain only A-Z a-z 0-9 . _ : @ + - and * wildcards';
  let wildcards = 0;
  for (const char of pattern) if (char === '*') wildcards++;
  if (wildcards > maxWildcards) return `at most ${maxWildcards} * wildcards (this has ${wildcards})`;
  return undefined;
}

/** Refuses patterns a key may not be given, with a detail per bad pattern (400 VALIDATION_ERROR). */
export function requireValidUserIdPatterns(patterns: readonly string[], field = 'userIds'): void {
  const details: ErrorDetail[] = [];
  if (patterns.length < 1 || patterns.length > userIdPatternLimits.maxPatterns) {
    details.push({ field, message: `must hold 1-${userIdPatternLimits.maxPatterns} patterns` });
  }
  patterns.forEach((pattern, index) => {
    const problem = userIdPatternProblem(pattern);
    if (problem) details.push({ field: `${field}.${index}`, message: problem });
  });
  if (details.length > 0) {
    throw new AppError('VALIDATION_ERROR', `Invalid userIds pattern: ${details.map((detail) => `${detail.field} ${detail.message}`).join('; ')}`, details);
  }
}
