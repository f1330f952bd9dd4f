/**
 * Runs the built `prekeyd` bundle (build.mjs --bundle-only into a temporary directory) as a
 * user would, and records what a user sees: exit code, stdout, stderr and how long it took.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { buildInto, temporaryDirectory } from './server-process.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function buildBundle(): Promise<{ bundle: string; outdir: string }> {
  const outdir = temporaryDirectory('cli-build');
  return { bundle: (await buildInto(outdir, { bundleOnly: true })).bundle, outdir };
}

/** Runs a command to its end; killed (and reported with signal SIGKILL) past `timeoutMs`. */
export function runCommand(command: string, args: string[], options: SpawnOptions & { timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** What every start-up failure must look like: one line on stderr, no stack, a non-zero exit code, within 5 s. */
export function expectOneLineFailure(result: CliResult, pattern: RegExp, expect: typeof import('vitest').expect): void {
  expect(result.signal, `still running after the timeout; stderr:\n${result.stderr}`).toBeNull();
  expect(result.code).not.toBe(0);
  expect(result.ms).toBeLessThan(5000);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^prekeyd: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}
