/**
 * `prekeyd witness`: a minimal C2SP tlog-witness, so that one deployment can witness another's
 * logs. State (the last cosigned checkpoint of each log) is written to a file, fsynced, before a
 * cosignature is answered; the key is a 32-byte seed kept in a file of its own (mode 0600).
 *
 *   prekeyd witness --name witness.example/w1 --key-file w1.key --state w1.json --log VKEY [--log VKEY…] [--host H] [--port P]
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { Hono } from 'hono';
import { decodeHex, encodeHex } from '../../packages/client/src/core/encoding.ts';
import { startHttpServer } from '../runtime/http-server.ts';
import { cosignerFromSeed } from '../../packages/client/src/transparency/cosignature.ts';
import { parseVerifierKey, type VerifierKey } from '../../packages/client/src/transparency/note.ts';
import { addCheckpoint, maxRequestBytes, type WitnessState } from '../transparency/witness.ts';
import { parseCommandLine } from './args.ts';

async function seedFrom(path: string): Promise<Uint8Array> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing !== undefined) {
    const seed = decodeHex(existing.trim());
    if (!seed || seed.length !== 32) throw new Error(`${path} does not hold a 32-byte hex witness key`);
    return seed;
  }
  const seed = new Uint8Array(randomBytes(32));
  await writeFile(path, `${encodeHex(seed)}\n`, { mode: 0o600, flag: 'wx' });
  return seed;
}

async function persist(path: string, state: WitnessState): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(state));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

export async function runWitness(argv: string[]): Promise<number> {
  const { extra, config } = parseCommandLine(argv, {
    name: { type: 'string' },
    'key-file': { type: 'string' },
    state: { type: 'string' },
    log: { type: 'string', multiple: true },
  });
  const name = extra.name as string | undefined;
  const keyFile = extra['key-file'] as string | undefined;
  const statePath = extra.state as string | undefined;
  const logKeys = (extra.log as string[] | undefined) ?? [];
  if (!name || !keyFile || !statePath || logKeys.length === 0) {
    console.error('usage: prekeyd witness --name NAME --key-file FILE --state FILE --log VKEY [--log VKEY…] [--host H] [--port P]');
    return 2;
  }
  const logs = new Map<string, VerifierKey[]>();
  for (const text of logKeys) {
    // ORIGIN=VKEY for logs whose key name is not their origin; prekeyd names its keys by origin.
    const [origin, vkey] = text.includes('=') ? (text.split(/=(.*)/s) as [string, string]) : [undefined, text];
    const key = parseVerifierKey(vkey);
    logs.set(origin ?? key.name, [...(logs.get(origin ?? key.name) ?? []), key]);
  }
  const cosigner = cosignerFromSeed(name, await seedFrom(keyFile));
  let state: WitnessState = JSON.parse((await readFile(statePath, 'utf8').catch(() => '{}')) || '{}') as WitnessState;
  let queue = Promise.resolve();

  const app = new Hono();
  app.post('/add-checkpoint', async (c) => {
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > maxRequestBytes) return c.text('request too large\n', 413);
    const body = await c.req.text();
    if (body.length > maxRequestBytes) return c.text('request too large\n', 413);
    // One request at a time: the old-size check and the state update are atomic.
    const answer = await new Promise<ReturnType<typeof addCheckpoint>>((resolve, reject) => {
      queue = queue.then(async () => {
        try {
          const result = addCheckpoint(body, logs, state, cosigner, new Date());
          if (result.state) {
            await persist(statePath, result.state);
            state = result.state;
          }
          resolve(result);
        } catch (error) {
          reject(error);
        }
      });
    });
    return c.body(answer.body, answer.status as 200, { 'content-type': answer.contentType });
  });
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((_error, c) => c.text('internal error\n', 500));

  const host = (config.host as string | undefined) ?? '127.0.0.1';
  const port = Number(config.port ?? 0);
  const server = await startHttpServer(app.fetch, host, port);
  console.log(`witness ${name} key ${cosigner.verifierKey}`);
  console.log(`witness ${name} listening on ${server.url}`);
  return new Promise<number>((resolve) => {
    const stop = () => void server.close().then(() => resolve(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
