/** Spawning and watching the processes a benchmark drives. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Spawned {
  child: ChildProcess;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns a command and resolves once it prints `listening on http://HOST:PORT`. */
export function spawnListening(command: string, args: string[], env: Record<string, string> = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({
          child,
          url: match[1]!,
          pid: child.pid!,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before listening:\n${output}`)));
  });
}

/** Resident set size of a process, in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** The built server (`dist/prekeyd.cjs serve`) on `db`, on a free port, logging warnings only. */
export function spawnBuiltServer(db: string, masterKey: string, extraArgs: string[] = [], nodeArgs: string[] = []): Promise<Spawned> {
  return spawnListening(process.execPath, [
    ...nodeArgs,
    'dist/prekeyd.cjs',
    'serve',
    '--port',
    '0',
    '--db',
    db,
    '--master-key',
    masterKey,
    '--log-level',
    'warn',
    ...extraArgs,
  ]);
}
