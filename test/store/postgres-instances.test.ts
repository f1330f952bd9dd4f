/**
 * Two PostgreSQL stores on one database behave as two prekeyd instances: events committed
 * through one reach the other's onEvents (LISTEN/NOTIFY + outbox), counters are shared, the audit
 * chain and pre-key hand-out stay correct when both write at once. Runs on PGlite (two stores on
 * one in-process database) and, in the `postgres` project, on a real server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEntryHash, genesisHash, verifyAuditChain } from '../../src/domain/audit.ts';
import { defaultDomainSettings, systemClock } from '../../src/domain/deps.ts';
import type { Store, StoredEvent, StoreTx } from '../../src/store/types.ts';
import { availableBackends, openTestStore, type TestStore } from '../helpers/backend.ts';

let root: string;
let opened = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'prekeyd-instances-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const event = (userId: string, name: string, projectId = 'p1') => ({ projectId, userId, event: name, data: { name }, createdAt: new Date().toISOString() });

async function appendAudit(tx: StoreTx, projectId: string, userId: string) {
  const prevHash = (await tx.audit.head(projectId)) ?? genesisHash;
  const fields = {
    projectId,
    action: 'KEY_VERIFIED',
    resource: 'USER_KEY',
    userId,
    details: {},
    ipAddress: null,
    actor: 'master',
    status: 'SUCCESS' as const,
    createdAt: new Date().toISOString(),
    prevHash,
  };
  await tx.audit.insert({ ...fields, hash: auditEntryHash(fields) });
}

describe.each(availableBackends.filter((backend) => backend !== 'sqljs'))('two stores on one %s database', (backend) => {
  let first: TestStore;
  let second: TestStore;
  let a: Store;
  let b: Store;
  let path: string;

  beforeEach(async () => {
    path = join(root, `shared-${++opened}`);
    first = await openTestStore(backend, { path, keep: true });
    second = await openTestStore(backend, { path });
    a = first.store;
    b = second.store;
  });
  afterEach(async () => {
    await first.dispose();
    await second.dispose(); // drops the schema
  });

  it('events committed through one store reach the other in order, once, and the committer too', async () => {
    const onA: StoredEvent[] = [];
    const onB: StoredEvent[] = [];
    a.onEvents((events) => onA.push(...events));
    b.onEvents((events) => onB.push(...events));
    const writes = Array.from({ length: 30 }, (_, index) =>
      (index % 2 === 0 ? a : b).transaction(async (tx) => {
        await tx.events.append(event(`u${index}`, 'first'));
        await tx.events.append(event(`u${index}`, 'second', index % 3 === 0 ? 'p2' : 'p1'));
      }),
    );
    await Promise.all(writes);
    await expect.poll(() => onA.length, { timeout: 3_000 }).toBe(60);
    await expect.poll(() => onB.length, { timeout: 3_000 }).toBe(60);
    for (const seen of [onA, onB]) {
      for (const project of ['p1', 'p2']) {
        const ids = seen.filter((e) => e.projectId === project).map((e) => Number(e.id));
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
        expect(new Set(ids).size).toBe(ids.length);
      }
    }
    expect(new Set(onA.map((e) => e.id))).toEqual(new Set(onB.map((e) => e.id)));
    expect(
      await a.transaction((tx) =>
        tx.events.listAfter(
          'p1',
          Array.from({ length: 30 }, (_, i) => `u${i}`),
          '0',
          100,
        ),
      ),
    ).toHaveLength(50);
  });

  it('a store opened later delivers only what is committed after it started', async () => {
    await a.transaction((tx) => tx.events.append(event('old', 'before')));
    const third = await openTestStore(backend, { path, keep: true });
    try {
      const seen: StoredEvent[] = [];
      third.store.onEvents((events) => seen.push(...events));
      await a.transaction((tx) => tx.events.append(event('new', 'after')));
      await expect.poll(() => seen.map((e) => e.event), { timeout: 10_000 }).toEqual(['after']);
    } finally {
      await third.dispose();
    }
  });

  it('counters are shared', async () => {
    const now = 1_700_000_000_000;
    await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 ? a : b).counters.hit('shared', 60_000, now)));
    expect(await a.counters.peek('shared', 60_000, now)).toBe(20);
    expect((await b.counters.hit('shared', 60_000, now)).count).toBe(21);
  });

  it('concurrent writers through both keep the audit chain valid and hand out each pre-key once', async () => {
    const { id } = await a.transaction(async (tx) => {
      const keySet = await tx.keySets.insert({
        keyFormat: 'v1',
        projectId: 'p1',
        userId: 'target',
        deviceId: 'default',
        deviceName: null,
        registrationId: null,
        identityKey: 'ik',
        signedPreKey: { keyId: 's', publicKey: 'p', signature: 'x' },
        signedPreKeyCreatedAt: new Date().toISOString(),
        lastResortPreKey: null,
        pqLastResortPreKey: null,
        registeredAt: new Date().toISOString(),
      });
      await tx.oneTimePreKeys.insertMany(
        keySet.id,
        'ec',
        Array.from({ length: 30 }, (_, index) => ({ keyId: `k${index}`, publicKey: `p${index}` })),
        'x',
      );
      return keySet;
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        (index % 2 ? a : b).transaction(async (tx) => {
          const taken = await tx.oneTimePreKeys.takeOldest(id, 'ec');
          await appendAudit(tx, 'p1', 'target');
          return taken?.keyId ?? null;
        }),
      ),
    );
    const keys = results.filter((key) => key !== null);
    expect(keys).toHaveLength(30);
    expect(new Set(keys).size).toBe(30);
    const deps = { store: b, settings: defaultDomainSettings, clock: systemClock };
    expect(await verifyAuditChain(deps, 'p1')).toMatchObject({ valid: true, entries: 40 });
    expect((await a.transaction((tx) => tx.keySets.get(id)))!.oneTimePreKeyCount).toBe(0);
  });
});
