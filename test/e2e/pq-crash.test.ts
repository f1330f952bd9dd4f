/**
 * ML-KEM pre-keys across SIGKILL: a key acknowledged in a bundle is on disk with the EC key taken
 * beside it, so after a restart it is never handed out again (SPEC §6 for both kinds).
 */
import { afterAll, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey } from '../helpers/keys.ts';
import { makePqPreKey, makePqPreKeys, wire } from '../helpers/pq-keys.ts';
import { createDbPath, removeDir, startServerProcess } from '../helpers/server-process.ts';

const { dir, dbPath } = createDbPath();
afterAll(() => removeDir(dir));
const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };

it('never hands out an acknowledged ML-KEM one-time pre-key twice across a SIGKILL mid-load', async () => {
  const identity = makeIdentity();
  const lastResort = makePqPreKey(identity, 'pqlr_crash');
  const pqOneTimePreKeys = makePqPreKeys(identity, 40);
  const body = {
    userId: 'pq_crash',
    identityKey: identity.identityKey,
    signedPreKey: makeSignedPreKey(identity),
    oneTimePreKeys: makePreKeys(40),
    pqOneTimePreKeys,
    pqLastResortPreKey: wire(lastResort),
  };
  const server = await startServerProcess({ dbPath, args: ['--drain-limit', '0'] });
  expect((await fetch(`${server.url}/v1/keys/register`, { method: 'POST', headers, body: JSON.stringify(body) })).status).toBe(201);

  const acknowledged: Array<{ ec: string | null; pq: string }> = [];
  const fetchOne = async (url: string) => {
    const response = await fetch(`${url}/v1/keys/bundle/pq_crash`, { headers });
    const data = (await response.json()).data;
    return { ec: data.oneTimePreKey?.keyId ?? null, pq: data.pqPreKey.lastResort ? 'last-resort' : data.pqPreKey.keyId };
  };
  // Fetches in flight while the process is killed: only answered ones count as handed out.
  const inFlight = Array.from({ length: 30 }, () =>
    fetchOne(server.url).then(
      (keys) => void acknowledged.push(keys),
      () => undefined,
    ),
  );
  while (acknowledged.length < 10) await new Promise((resolve) => setTimeout(resolve, 5));
  server.kill('SIGKILL');
  await Promise.all(inFlight);
  await server.exited;
  const beforeCrash = acknowledged.map((keys) => keys.pq);

  const restarted = await startServerProcess({ dbPath, args: ['--drain-limit', '0'] });
  try {
    const after: string[] = [];
    for (let i = 0; i < 45; i++) after.push((await fetchOne(restarted.url)).pq);
    const oneTimeAfter = after.filter((keyId) => keyId !== 'last-resort');
    expect(beforeCrash.filter((keyId) => oneTimeAfter.includes(keyId))).toEqual([]);
    const all = [...beforeCrash, ...oneTimeAfter];
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((keyId) => pqOneTimePreKeys.some((key) => key.keyId === keyId))).toBe(true);
    // Each acknowledged fetch took an EC key with its ML-KEM key (one transaction, one journal record).
    expect(acknowledged.every((keys) => keys.ec !== null)).toBe(true);
    const verify = await (await fetch(`${restarted.url}/v1/keys/verify/pq_crash`, { headers })).json();
    // Both kinds moved together, also for fetches committed but not answered before the kill.
    expect(verify.data).toMatchObject({ pqOneTimePreKeysRemaining: 0, oneTimePreKeysRemaining: 0 });
  } finally {
    await restarted.stop();
  }
}, 60_000);
