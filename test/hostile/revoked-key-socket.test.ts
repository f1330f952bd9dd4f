/**
 * Attack: keep listening after losing the right to. A revoked key's WebSocket went on receiving
 * events until the next heartbeat (never with `--push-heartbeat 0`); a deleted, narrowed or
 * expired key's too. See revocation-scenarios.ts; the PostgreSQL variant (two instances) is
 * test/postgres/revoked-key-socket.test.ts.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { heartbeatOff, revocationScenarios } from './revocation-scenarios.ts';

describe('an API key losing its rights, with open WebSockets (embedded store)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ args: heartbeatOff });
  });
  afterAll(() => server?.stop());

  it('closes them within 1 s of a revocation, deletion, narrowing or expiry, and no event passes after the answer', async () => {
    await revocationScenarios(server, server);
  });
});
