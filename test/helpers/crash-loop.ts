/**
 * The crash loop: a write and fetch load against a spawned server that is killed with SIGKILL
 * at random moments. After each restart it checks that every acknowledged registration, rotation
 * and backup is present (backup blobs live in files beside the database) and that no one-time
 * pre-key handed out before is ever handed out again. Each restart checks the users written to
 * since the previous check and a rotating sample of the others; the last start checks them all.
 * Used by the short test in the suite and by `npm run soak`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { masterKey } from './app.ts';
import { makeIdentity, makePreKeys, makeSignedPreKey, type TestIdentity } from './keys.ts';
import { startServerProcess } from './server-process.ts';

interface UserState {
  identity: TestIdentity;
  identityKey: string;
  /**
   * Signed pre-key ids: the newest acknowledged (by the server's rotatedAt; several when two
   * rotations share a millisecond), and those sent and not yet answered (maybe committed).
   */
  signedPreKeyAcked: Set<string>;
  signedPreKeyAckedAt: string;
  signedPreKeysInFlight: Set<string>;
  /** One-time pre-key ids uploaded and acknowledged, not yet handed out. */
  stored: Set<string>;
  /** Ids uploaded by requests that were in flight at a kill: they may or may not exist. */
  maybeStored: Set<string>;
  fetchesInFlight: number;
  /** Fetches that were in flight at a kill: each may have consumed one key unseen. */
  unseenConsumptions: number;
  /** Backups: the checksum of each acknowledged version; checksums of backups sent and not answered. */
  backupsAcked: Map<number, string>;
  backupsInFlight: Set<string>;
}

export interface CrashLoopReport {
  cycles: number;
  registrationsAcked: number;
  rotationsAcked: number;
  fetchesAcked: number;
  keysHandedOut: number;
  keysChecked: number;
  backupsAcked: number;
  backupsChecked: number;
}

export interface CrashLoopOptions {
  dbPath: string;
  cycles: number;
  minRunMs?: number;
  /** Acknowledged writes and fetches a cycle waits for before the kill (at most 30 s more); default 0. */
  minAckedPerCycle?: number;
  maxRunMs?: number;
  workers?: number;
  /** What runs the server (see ServerProcessOptions.command); default the TypeScript sources through tsx. */
  command?: string[];
  log?: (line: string) => void;
}

export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopReport> {
  const start = (args: string[]) => startServerProcess({ dbPath: options.dbPath, args, command: options.command, startTimeoutMs: 120_000 });
  const users = new Map<string, UserState>();
  const handedOut = new Set<string>();
  const report: CrashLoopReport = {
    cycles: 0,
    registrationsAcked: 0,
    rotationsAcked: 0,
    fetchesAcked: 0,
    keysHandedOut: 0,
    keysChecked: 0,
    backupsAcked: 0,
    backupsChecked: 0,
  };
  /** Users written to since they were last checked. */
  const dirty = new Set<string>();
  let sampleStart = 0;
  let nextUser = 0;
  const headers = { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' };

  for (let cycle = 0; cycle < options.cycles; cycle++) {
    const server = await start(['--drain-limit', '0', '--rate-limit-keys', '0', '--rate-limit-bundle', '0']);
    await verifyAfterRestart(server.url, false);
    let killed = false;
    const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

    const worker = async () => {
      while (!killed) {
        const known = [...users.keys()];
        const roll = Math.random();
        try {
          if (known.length < 5 || roll < 0.25) {
            const userId = `crash_user_${nextUser++}`;
            const identity = makeIdentity();
            const signedPreKey = makeSignedPreKey(identity);
            const keys = makePreKeys(20, `${userId}_k`);
            const state: UserState = {
              identity,
              identityKey: identity.identityKey,
              signedPreKeyAcked: new Set(),
              signedPreKeyAckedAt: '',
              signedPreKeysInFlight: new Set([signedPreKey.keyId]),
              stored: new Set(),
              maybeStored: new Set(keys.map((key) => key.keyId)),
              fetchesInFlight: 0,
              unseenConsumptions: 0,
              backupsAcked: new Map(),
              backupsInFlight: new Set(),
            };
            dirty.add(userId);
            const response = await post('/v1/keys/register', { userId, identityKey: identity.identityKey, signedPreKey, oneTimePreKeys: keys });
            if (response.status !== 201) throw new Error(`register answered ${response.status}`);
            state.signedPreKeyAcked = new Set([signedPreKey.keyId]);
            state.signedPreKeysInFlight.clear();
            for (const key of keys) state.stored.add(key.keyId), state.maybeStored.delete(key.keyId);
            users.set(userId, state);
            report.registrationsAcked++;
          } else if (roll < 0.45) {
            const userId = known[Math.floor(Math.random() * known.length)]!;
            const state = users.get(userId)!;
            if (state.stored.size + state.maybeStored.size > 900) continue;
            dirty.add(userId);
            const signedPreKey = makeSignedPreKey(state.identity);
            const keys = makePreKeys(10, `${userId}_k`);
            state.signedPreKeysInFlight.add(signedPreKey.keyId);
            for (const key of keys) state.maybeStored.add(key.keyId);
            const response = await post('/v1/keys/rotate', { userId, newSignedPreKey: signedPreKey, newOneTimePreKeys: keys });
            if (response.status !== 200) throw new Error(`rotate answered ${response.status}: ${await response.text()}`);
            const { rotatedAt } = ((await response.json()) as { data: { rotatedAt: string } }).data;
            // Answers to concurrent rotations of one user may arrive in any order: the newest wins.
            if (rotatedAt > state.signedPreKeyAckedAt) (state.signedPreKeyAcked = new Set()), (state.signedPreKeyAckedAt = rotatedAt);
            if (rotatedAt === state.signedPreKeyAckedAt) state.signedPreKeyAcked.add(signedPreKey.keyId);
            state.signedPreKeysInFlight.delete(signedPreKey.keyId);
            // A concurrent fetch may already have handed out one of these keys before this answer came.
            for (const key of keys) if (!handedOut.has(key.keyId)) state.stored.add(key.keyId), state.maybeStored.delete(key.keyId);
            report.rotationsAcked++;
          } else if (roll < 0.55) {
            const userId = known[Math.floor(Math.random() * known.length)]!;
            const state = users.get(userId)!;
            dirty.add(userId);
            const blob = randomBytes(2048 + Math.floor(Math.random() * 30_000));
            const checksum = createHash('sha256').update(blob).digest('hex');
            state.backupsInFlight.add(checksum);
            const encryptionMetadata = {
              algorithm: 'argon2id+aes-256-gcm',
              argon2Params: { timeCost: 3, memoryCost: 65536, parallelism: 4 },
              nonce: '00',
              salt: '00',
            };
            const response = await post('/v1/keys/backup', { userId, encryptedBundle: blob.toString('base64'), encryptionMetadata, checksum });
            if (response.status !== 200) throw new Error(`backup answered ${response.status}: ${await response.text()}`);
            const { version } = ((await response.json()) as { data: { version: number } }).data;
            state.backupsAcked.set(version, checksum);
            state.backupsInFlight.delete(checksum);
            report.backupsAcked++;
          } else {
            const userId = known[Math.floor(Math.random() * known.length)]!;
            const state = users.get(userId)!;
            dirty.add(userId);
            state.fetchesInFlight++;
            const response = await fetch(`${server.url}/v1/keys/bundle/${userId}`, { headers });
            const body = (await response.json()) as { data: { oneTimePreKey: { keyId: string } | null } };
            state.fetchesInFlight--;
            if (response.status !== 200) throw new Error(`bundle answered ${response.status}`);
            const keyId = body.data.oneTimePreKey?.keyId;
            if (keyId) {
              if (handedOut.has(keyId)) throw new Error(`one-time pre-key ${keyId} handed out twice`);
              handedOut.add(keyId);
              state.stored.delete(keyId);
              state.maybeStored.delete(keyId);
              report.keysHandedOut++;
            }
            report.fetchesAcked++;
          }
        } catch (error) {
          if (!killed) {
            const status = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('running'), 500))]);
            throw new Error(`${String(error)} (server ${JSON.stringify(status)}; stderr: ${server.stderr.slice(-20).join('\n')})`, { cause: error });
          }
        }
      }
    };

    const ackedSoFar = () => report.registrationsAcked + report.rotationsAcked + report.fetchesAcked;
    const ackedAtStart = ackedSoFar();
    const workers = Array.from({ length: options.workers ?? 8 }, worker);
    const runMs = (options.minRunMs ?? 300) + Math.random() * ((options.maxRunMs ?? 1500) - (options.minRunMs ?? 300));
    await new Promise((resolve) => setTimeout(resolve, runMs));
    // On a loaded machine a cycle's time buys few writes: wait for enough of them (bounded).
    for (const deadline = Date.now() + 30_000; ackedSoFar() - ackedAtStart < (options.minAckedPerCycle ?? 0) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    killed = true;
    server.kill('SIGKILL');
    await Promise.all(workers);
    await server.exited;
    for (const state of users.values()) {
      state.unseenConsumptions += state.fetchesInFlight;
      state.fetchesInFlight = 0;
    }
    report.cycles++;
    options.log?.(`cycle ${cycle + 1}: ${JSON.stringify(report)}`);
  }

  const last = await start([]);
  await verifyAfterRestart(last.url, true);
  await last.stop();
  return report;

  /** Every acknowledged write is there; draining every user shows no key handed out before. */
  async function verifyAfterRestart(url: string, everyone: boolean): Promise<void> {
    const all = [...users.keys()];
    const sample = all.slice(sampleStart, sampleStart + 20);
    sampleStart = sampleStart + 20 >= all.length ? 0 : sampleStart + 20;
    const checked = everyone ? all : [...new Set([...dirty, ...sample])].filter((userId) => users.has(userId)); // a registration never answered is unknown
    dirty.clear();
    for (const userId of checked) {
      const state = users.get(userId)!;
      await verifyBackups(url, userId, state);
      const verify = await fetch(`${url}/v1/keys/verify/${userId}`, { headers });
      if (verify.status !== 200) throw new Error(`acknowledged registration of ${userId} lost (${verify.status})`);
      const bundle = (await (await fetch(`${url}/v1/keys/bundle/${userId}`, { headers })).json()) as {
        data: { identityKey: string; signedPreKey: { keyId: string }; oneTimePreKey: { keyId: string } | null };
      };
      if (bundle.data.identityKey !== state.identityKey) throw new Error(`identity key of ${userId} changed`);
      const current = bundle.data.signedPreKey.keyId;
      if (!state.signedPreKeyAcked.has(current) && !state.signedPreKeysInFlight.has(current)) {
        throw new Error(`signed pre-key of ${userId} is ${current}, expected the acknowledged ${[...state.signedPreKeyAcked].join(' or ')}`);
      }
      state.signedPreKeyAcked = new Set([current]);
      state.signedPreKeysInFlight.clear();
      const remaining: string[] = [];
      for (let taken = bundle.data.oneTimePreKey; taken; ) {
        remaining.push(taken.keyId);
        const next = (await (await fetch(`${url}/v1/keys/bundle/${userId}`, { headers })).json()) as { data: { oneTimePreKey: { keyId: string } | null } };
        taken = next.data.oneTimePreKey;
      }
      for (const keyId of remaining) {
        if (handedOut.has(keyId)) throw new Error(`one-time pre-key ${keyId} of ${userId} handed out again after a crash`);
        if (!state.stored.has(keyId) && !state.maybeStored.has(keyId)) throw new Error(`unknown one-time pre-key ${keyId} of ${userId}`);
        handedOut.add(keyId);
      }
      const missing = [...state.stored].filter((keyId) => !remaining.includes(keyId));
      if (missing.length > state.unseenConsumptions) {
        throw new Error(`${missing.length} acknowledged one-time pre-keys of ${userId} lost (only ${state.unseenConsumptions} fetches were in flight)`);
      }
      report.keysChecked += remaining.length;
      state.stored.clear();
      state.maybeStored.clear();
      state.unseenConsumptions = 0;
    }
  }

  /** The newest backup is an acknowledged one (or one in flight at a kill), and every acknowledged version kept reads back intact. */
  async function verifyBackups(url: string, userId: string, state: UserState): Promise<void> {
    if (state.backupsAcked.size === 0 && state.backupsInFlight.size === 0) return;
    const recover = async (version?: number) => {
      const response = await fetch(`${url}/v1/keys/recover`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ userId, ...(version !== undefined && { version }) }),
      });
      return { status: response.status, body: (await response.json()) as { data: { version: number; checksum: string; encryptedBundle: string } } };
    };
    const newestAcked = Math.max(0, ...state.backupsAcked.keys());
    const latest = await recover();
    if (latest.status !== 200) {
      if (newestAcked > 0) throw new Error(`acknowledged backup version ${newestAcked} of ${userId} lost (${latest.status})`);
      return;
    }
    const { version, checksum, encryptedBundle } = latest.body.data;
    if (version < newestAcked) throw new Error(`backup of ${userId} is at version ${version}, ${newestAcked} was acknowledged`);
    if (state.backupsAcked.get(version) !== checksum && !state.backupsInFlight.has(checksum))
      throw new Error(`backup version ${version} of ${userId} is not one that was sent`);
    if (createHash('sha256').update(Buffer.from(encryptedBundle, 'base64')).digest('hex') !== checksum)
      throw new Error(`backup blob of ${userId} does not match its checksum`);
    if (version !== newestAcked && newestAcked > 0) {
      const acked = await recover(newestAcked); // still within the retention: a version in flight came after it
      if (acked.status === 200 && acked.body.data.checksum !== state.backupsAcked.get(newestAcked))
        throw new Error(`backup version ${newestAcked} of ${userId} changed`);
    }
    state.backupsAcked = new Map([[version, checksum]]);
    state.backupsInFlight.clear();
    report.backupsChecked++;
  }
}
