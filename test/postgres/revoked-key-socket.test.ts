/**
 * test/hostile/revoked-key-socket.test.ts on two instances of one PostgreSQL database: the key
 * changes through instance A while its WebSocket is open on instance B (the change reaches B by
 * LISTEN/NOTIFY, ahead of any later event). Heartbeat off, so only the notification can help.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { freshServerDbUrl } from '../helpers/backend.ts';
import { seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { heartbeatOff, revocationScenarios } from '../hostile/revocation-scenarios.ts';

let database: Awaited<ReturnType<typeof freshServerDbUrl>>;
let a: ServerProcess;
let b: ServerProcess;

beforeAll(async () => {
  database = await freshServerDbUrl();
  await seedApiKeys(database.url, []); // the first open applies the schema, before two instances race to
  [a, b] = await Promise.all([
    startServerProcess({ dbPath: database.url, args: heartbeatOff }),
    startServerProcess({ dbPath: database.url, args: heartbeatOff }),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.drop();
});

describe('an API key losing its rights, socket on another instance (PostgreSQL)', () => {
  it('closes it within 1 s of a revocation, deletion, narrowing or expiry, and no event passes after the answer', async () => {
    await revocationScenarios(a, b);
  });
});
