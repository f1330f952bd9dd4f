/**
 * `prekeyd transparency monitor --log URL --key VKEY --state FILE [--watch USER…] [--api-key KEY] [--once] [--interval 10s]`
 *   follows a log (URL: its prefix, e.g. https://keys.example.com/v1/transparency/default),
 *   prints each key change of a watched user as a JSON line, and exits 1 with both checkpoints
 *   on a fork, rollback or inconsistent tree.
 * `prekeyd transparency rotate-key --project P --db FILE`
 *   gives a project's log a new signing key (stop the server first); the current checkpoint is
 *   re-signed with it, the old verifier key is kept as retired.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { ConfigError, configFromEnv, parseDuration, resolveConfig } from '../config.ts';
import { openStore } from '../store/open-store.ts';
import { parseCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import { LogMisbehaviour, type MonitorState, monitorStep } from '../transparency/monitor.ts';
import { generateSigner, parseNote, parseSignerKey, parseVerifierKey, signNote } from '../../packages/client/src/transparency/note.ts';
import { parseCommandLine } from './args.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runMonitor(argv: string[]): Promise<number> {
  const { extra } = parseCommandLine(argv, {
    log: { type: 'string' },
    key: { type: 'string' },
    state: { type: 'string' },
    watch: { type: 'string', multiple: true },
    'api-key': { type: 'string' },
    once: { type: 'boolean' },
    interval: { type: 'string' },
  });
  const prefix = (extra.log as string | undefined)?.replace(/\/+$/, '');
  const statePath = extra.state as string | undefined;
  if (!prefix || !extra.key || !statePath) throw new ConfigError('transparency monitor needs --log URL --key VKEY --state FILE');
  const keys = [parseVerifierKey(extra.key as string)];
  const watch = ((extra.watch as string[] | undefined) ?? []).flatMap((item) => item.split(',')).filter(Boolean);
  const apiKey = (extra['api-key'] as string | undefined) ?? process.env.PREKEYD_API_KEY;
  const interval = parseDuration((extra.interval as string | undefined) ?? '10s');
  if (interval === undefined) throw new ConfigError('--interval: use a duration such as 10s');

  const fetcher = async (path: string, options: { auth?: boolean } = {}) => {
    const response = await fetch(`${prefix}/${path}`, { headers: options.auth && apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
    if (!response.ok) throw new Error(`GET ${prefix}/${path} answered ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  let state = JSON.parse((await readFile(statePath, 'utf8').catch(() => 'null')) || 'null') as MonitorState | null;
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  process.once('SIGINT', () => (stopping = true));
  for (;;) {
    try {
      const step = await monitorStep(fetcher, keys, state ?? undefined, watch);
      for (const { index, leaf } of step.changes) console.log(JSON.stringify({ type: 'key-change', leafIndex: index, ...leaf }));
      if (step.state !== state) {
        await writeFile(`${statePath}.tmp`, JSON.stringify(step.state));
        await rename(`${statePath}.tmp`, statePath);
        state = step.state;
      }
      console.log(JSON.stringify({ type: 'checkpoint', origin: step.checkpoint.origin, size: step.checkpoint.size, verified: true }));
    } catch (error) {
      if (error instanceof LogMisbehaviour) {
        console.error(`prekeyd: transparency log misbehaved: ${error.message}`);
        console.error(`--- previous checkpoint ---\n${error.previous}--- new checkpoint ---\n${error.current}`);
        return 1;
      }
      if (extra.once) throw error;
      console.error(`prekeyd: monitor round failed (retrying): ${(error as Error).message}`);
    }
    if (extra.once || stopping) return 0;
    await pause(interval);
    if (stopping) return 0;
  }
}

async function runRotateKey(argv: string[]): Promise<number> {
  const { config: flags, extra } = parseCommandLine(argv, { project: { type: 'string' } });
  const projectId = extra.project as string | undefined;
  if (!projectId) throw new ConfigError('transparency rotate-key needs --project P');
  const { db } = resolveConfig(configFromEnv(process.env), flags);
  const store = await openStore(db);
  try {
    const rotated = await store.transaction(async (tx) => {
      const log = await tx.transparency.log(projectId, { lock: true });
      if (!log?.signerKey || !log.checkpoint || !log.origin) return undefined;
      const old = parseSignerKey(log.signerKey);
      const signer = generateSigner(old.name);
      const text = parseNote(log.checkpoint).text;
      parseCheckpoint(text);
      await tx.transparency.saveLog({
        ...log,
        signerKey: signer.signerKey,
        retiredKeys: [...log.retiredKeys, old.verifierKey],
        checkpoint: signNote(text, [signer]),
        updatedAt: new Date().toISOString(),
      });
      return { old: old.verifierKey, next: signer.verifierKey };
    });
    if (!rotated) throw new ConfigError(`Project ${projectId} has no transparency log yet`);
    console.log(`retired log key ${rotated.old}`);
    console.log(`new log key ${rotated.next}`);
    return 0;
  } finally {
    await store.close();
  }
}

export async function runTransparency(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'monitor') return runMonitor(rest);
  if (sub === 'rotate-key') return runRotateKey(rest);
  console.error('usage: prekeyd transparency monitor|rotate-key … (see prekeyd --help)');
  return 2;
}
