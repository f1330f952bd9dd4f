/**
 * The storage interface's contract, run against every backend: the embedded store and
 * PostgreSQL through PGlite in the default project, a real PostgreSQL server in the `postgres`
 * project (PREKEYD_TEST_PG_URL).
 * Both backends must behave identically here, down to ordering and NULL handling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { auditEntryHash, genesisHash, verifyAuditChain } from '../../src/domain/audit.ts';
import { defaultDomainSettings, systemClock } from '../../src/domain/deps.ts';
import type { ApiKeyRecord, AuditEntry, NewKeySet, Store, StoredEvent, StoreTx } from '../../src/store/types.ts';
import { availableBackends, openTestStore, type TestStore } from '../helpers/backend.ts';

let root: string;
let opened = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'prekeyd-contract-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function keySet(userId: string, overrides: Partial<NewKeySet> = {}): NewKeySet {
  return {
    keyFormat: 'v1',
    projectId: 'p1',
    userId,
    deviceId: 'default',
    deviceName: null,
    registrationId: null,
    identityKey: `ik_${userId}`,
    signedPreKey: { keyId: 'spk1', publicKey: `spk_${userId}`, signature: 'sig' },
    signedPreKeyCreatedAt: '2024-01-01T00:00:00.000Z',
    lastResortPreKey: null,
    pqLastResortPreKey: null,
    registeredAt: '2024-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const preKeys = (count: number, prefix = 'k') =>
  Array.from({ length: count }, (_, index) => ({ keyId: `${prefix}${index}`, publicKey: `pub_${prefix}${index}` }));

async function appendAuditEntry(
  tx: StoreTx,
  projectId: string,
  action: string,
  userId: string | null,
  createdAt: string,
  details: Record<string, unknown> = {},
) {
  const prevHash = (await tx.audit.head(projectId)) ?? genesisHash;
  const fields = {
    projectId,
    action,
    resource: 'USER_KEY',
    userId,
    details,
    ipAddress: '127.0.0.1',
    actor: 'master',
    status: 'SUCCESS' as const,
    createdAt,
    prevHash,
  };
  await tx.audit.insert({ ...fields, hash: auditEntryHash(fields) });
}

function apiKey(uid: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    uid,
    projectId: 'p1',
    hash: `hash_${uid}`,
    prefix: uid.slice(0, 6),
    description: null,
    acl: ['keys.read'],
    userIds: ['*'],
    expiresAt: null,
    revoked: false,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    lastUsedAt: null,
    ...overrides,
  };
}

describe.each(availableBackends)('store contract on %s', (backend) => {
  let handle: TestStore;
  let store: Store;
  const run = <T>(fn: (tx: StoreTx) => Promise<T>) => store.transaction(fn);

  beforeEach(async () => {
    handle = await openTestStore(backend, { path: join(root, `${backend}-${++opened}.db`) });
    store = handle.store;
  });
  afterEach(async () => {
    await handle.dispose();
  });

  it('reports its kind and readiness', () => {
    expect(store.kind).toBe(backend === 'sqljs' ? 'sqljs' : 'postgres');
    expect(store.isReady()).toBe(true);
  });

  describe('key sets', () => {
    it('insert returns the stored record with defaults; get and listForUser read it back', async () => {
      const inserted = await run((tx) =>
        tx.keySets.insert(keySet('alice', { deviceName: 'phone', registrationId: 42, lastResortPreKey: { keyId: 'lr', publicKey: 'lrpub', signature: null } })),
      );
      expect(inserted).toMatchObject({
        keyFormat: 'v1',
        projectId: 'p1',
        userId: 'alice',
        deviceId: 'default',
        deviceName: 'phone',
        registrationId: 42,
        status: 'active',
        statusReason: null,
        oneTimePreKeyCount: 0,
        pqOneTimePreKeyCount: 0,
        lastRotatedAt: null,
        revokedAt: null,
        signedPreKey: { keyId: 'spk1', publicKey: 'spk_alice', signature: 'sig' },
        lastResortPreKey: { keyId: 'lr', publicKey: 'lrpub', signature: null },
        pqLastResortPreKey: null,
      });
      expect(typeof inserted.id).toBe('number');
      expect(await run((tx) => tx.keySets.get(inserted.id))).toEqual(inserted);
      expect(await run((tx) => tx.keySets.get(inserted.id + 1000))).toBeUndefined();
      const second = await run((tx) => tx.keySets.insert(keySet('alice', { deviceId: 'laptop' })));
      await run((tx) => tx.keySets.insert(keySet('bob')));
      const forAlice = await run((tx) => tx.keySets.listForUser('p1', 'alice'));
      expect(forAlice.map((k) => k.id)).toEqual([second.id, inserted.id]); // newest first
      expect(await run((tx) => tx.keySets.listForUser('p2', 'alice'))).toEqual([]);
    });

    it('allows one non-revoked key set per device', async () => {
      const first = await run((tx) => tx.keySets.insert(keySet('carol')));
      await expect(run((tx) => tx.keySets.insert(keySet('carol')))).rejects.toThrow();
      await run((tx) => tx.keySets.update(first.id, { status: 'revoked', revokedAt: '2024-02-01T00:00:00.000Z' }));
      const again = await run((tx) => tx.keySets.insert(keySet('carol')));
      expect(again.id).toBeGreaterThan(first.id);
    });

    it('update changes only the given fields, JSON fields included', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('dave')));
      await run((tx) =>
        tx.keySets.update(id, {
          signedPreKey: { keyId: 'spk2', publicKey: 'p2', signature: 's2' },
          pqLastResortPreKey: { keyId: 'pq', publicKey: 'pqpub', signature: 'pqsig' },
          status: 'suspended',
          statusReason: 'why',
          lastRotatedAt: '2024-03-01T00:00:00.000Z',
          registrationId: 7,
          deviceName: undefined,
        }),
      );
      await run((tx) => tx.keySets.update(id, {}));
      const updated = await run((tx) => tx.keySets.get(id));
      expect(updated).toMatchObject({
        signedPreKey: { keyId: 'spk2', publicKey: 'p2', signature: 's2' },
        pqLastResortPreKey: { keyId: 'pq', publicKey: 'pqpub', signature: 'pqsig' },
        status: 'suspended',
        statusReason: 'why',
        lastRotatedAt: '2024-03-01T00:00:00.000Z',
        registrationId: 7,
        identityKey: 'ik_dave',
        lastResortPreKey: null,
      });
      await run((tx) => tx.keySets.update(id, { lastResortPreKey: null, statusReason: null }));
      expect(await run((tx) => tx.keySets.get(id))).toMatchObject({ lastResortPreKey: null, statusReason: null });
    });

    it('list filters by status (expired derived from the cutoff), sorts bytewise with SQLite NULL order, pages and counts', async () => {
      await run(async (tx) => {
        const a = await tx.keySets.insert(keySet('a_user', { registeredAt: '2024-01-03T00:00:00.000Z', signedPreKeyCreatedAt: '2024-01-01T00:00:00.000Z' }));
        const b = await tx.keySets.insert(keySet('B_user', { registeredAt: '2024-01-01T00:00:00.000Z', signedPreKeyCreatedAt: '2024-06-01T00:00:00.000Z' }));
        const c = await tx.keySets.insert(keySet('c_user', { registeredAt: '2024-01-02T00:00:00.000Z', signedPreKeyCreatedAt: '2024-06-01T00:00:00.000Z' }));
        await tx.keySets.update(b.id, { lastRotatedAt: '2024-05-01T00:00:00.000Z' });
        await tx.keySets.update(c.id, { status: 'revoked' });
        await tx.oneTimePreKeys.insertMany(a.id, 'ec', preKeys(3), '2024-01-01T00:00:00.000Z');
        await tx.keySets.insert(keySet('other', { projectId: 'p2' }));
      });
      const list = (query: Partial<Parameters<StoreTx['keySets']['list']>[0]>) =>
        run((tx) => tx.keySets.list({ projectId: 'p1', sortBy: 'registeredAt', sortOrder: 'asc', offset: 0, limit: 10, ...query }));
      const users = async (query: Partial<Parameters<StoreTx['keySets']['list']>[0]>) => (await list(query)).items.map((k) => k.userId);

      expect(await users({})).toEqual(['B_user', 'c_user', 'a_user']);
      expect(await users({ sortOrder: 'desc' })).toEqual(['a_user', 'c_user', 'B_user']);
      expect(await users({ sortBy: 'userId' })).toEqual(['B_user', 'a_user', 'c_user']); // bytewise: uppercase first
      expect(await users({ sortBy: 'lastRotatedAt' })).toEqual(['a_user', 'c_user', 'B_user']); // NULLs first ascending
      expect(await users({ sortBy: 'lastRotatedAt', sortOrder: 'desc' })).toEqual(['B_user', 'c_user', 'a_user']); // NULLs last descending
      expect(await users({ sortBy: 'oneTimePreKeyCount', sortOrder: 'desc' })).toEqual(['a_user', 'c_user', 'B_user']);
      expect(await users({ status: 'revoked' })).toEqual(['c_user']);
      expect(await users({ status: 'active' })).toEqual(['B_user', 'a_user']);
      expect(await users({ status: 'active', expiredBefore: '2024-03-01T00:00:00.000Z' })).toEqual(['B_user']);
      expect(await users({ status: 'expired', expiredBefore: '2024-03-01T00:00:00.000Z' })).toEqual(['a_user']);
      expect(await users({ status: 'expired' })).toEqual([]);
      const page = await list({ offset: 1, limit: 1 });
      expect(page.total).toBe(3);
      expect(page.items.map((k) => k.userId)).toEqual(['c_user']);
    });

    it('list narrows to a user id prefix, case-sensitive, within the project, counted', async () => {
      await run(async (tx) => {
        for (const userId of ['team_a', 'team_b', 'team', 'Team_c', 'teal', 'tea']) await tx.keySets.insert(keySet(userId));
        await tx.keySets.insert(keySet('team_other', { projectId: 'p2' }));
      });
      const list = (userIdPrefix: string) =>
        run((tx) => tx.keySets.list({ projectId: 'p1', userIdPrefix, sortBy: 'userId', sortOrder: 'asc', offset: 0, limit: 10 }));
      const found = await list('team');
      expect(found.items.map((k) => k.userId)).toEqual(['team', 'team_a', 'team_b']);
      expect(found.total).toBe(3);
      expect((await list('tea')).items.map((k) => k.userId)).toEqual(['tea', 'teal', 'team', 'team_a', 'team_b']);
      expect((await list('team_b')).items.map((k) => k.userId)).toEqual(['team_b']);
      expect((await list('nobody')).total).toBe(0);
    });

    it('figures counts key sets by visible status over every project, and stored EC pre-keys', async () => {
      expect(await run((tx) => tx.keySets.figures('2024-03-01T00:00:00.000Z'))).toEqual({
        byStatus: { active: 0, suspended: 0, revoked: 0, expired: 0 },
        oneTimePreKeys: 0,
      });
      await run(async (tx) => {
        const fresh = await tx.keySets.insert(keySet('f1', { signedPreKeyCreatedAt: '2024-06-01T00:00:00.000Z' }));
        await tx.keySets.insert(keySet('f2', { projectId: 'p2' }));
        const suspended = await tx.keySets.insert(keySet('f3'));
        await tx.keySets.update(suspended.id, { status: 'suspended' });
        await tx.oneTimePreKeys.insertMany(fresh.id, 'ec', preKeys(4), 'x');
        await tx.oneTimePreKeys.insertMany(suspended.id, 'ec', preKeys(2), 'x');
        await tx.oneTimePreKeys.insertMany(suspended.id, 'kyber', preKeys(5), 'x');
      });
      expect(await run((tx) => tx.keySets.figures('2024-03-01T00:00:00.000Z'))).toEqual({
        byStatus: { active: 1, suspended: 1, revoked: 0, expired: 1 },
        oneTimePreKeys: 6,
      });
      expect(await run((tx) => tx.keySets.figures())).toEqual({ byStatus: { active: 2, suspended: 1, revoked: 0, expired: 0 }, oneTimePreKeys: 6 });
    });

    it('archives signed pre-keys and lists the history in insertion order', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('erin')));
      await run(async (tx) => {
        await tx.keySets.archiveSignedPreKey(id, { keyId: 'old2', publicKey: 'p2', signature: 's2' }, '2024-01-02T00:00:00.000Z', '2024-01-03T00:00:00.000Z');
        await tx.keySets.archiveSignedPreKey(id, { keyId: 'old1', publicKey: 'p1', signature: 's1' }, '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z');
      });
      expect(await run((tx) => tx.keySets.signedPreKeyHistory(id))).toEqual([
        { keyId: 'old2', publicKey: 'p2', signature: 's2', createdAt: '2024-01-02T00:00:00.000Z', replacedAt: '2024-01-03T00:00:00.000Z' },
        { keyId: 'old1', publicKey: 'p1', signature: 's1', createdAt: '2024-01-01T00:00:00.000Z', replacedAt: '2024-01-02T00:00:00.000Z' },
      ]);
      expect(await run((tx) => tx.keySets.signedPreKeyHistory(id + 1))).toEqual([]);
      await run((tx) => tx.keySets.deleteArchivedSignedPreKeys(id, ['old2', 'never']));
      await run((tx) => tx.keySets.deleteArchivedSignedPreKeys(id, []));
      expect((await run((tx) => tx.keySets.signedPreKeyHistory(id))).map((old) => old.keyId)).toEqual(['old1']);
    });
  });

  describe('one-time pre-keys', () => {
    it('insertMany (in chunks), count, existingKeyIds; the EC count is mirrored on the key set', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('frank')));
      await run(async (tx) => {
        await tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(250), '2024-01-01T00:00:00.000Z');
        await tx.oneTimePreKeys.insertMany(
          id,
          'kyber',
          preKeys(3).map((key) => ({ ...key, signature: `sig_${key.keyId}` })),
          '2024-01-01T00:00:00.000Z',
        );
      });
      expect(await run((tx) => tx.oneTimePreKeys.count(id, 'ec'))).toBe(250);
      expect(await run((tx) => tx.oneTimePreKeys.count(id, 'kyber'))).toBe(3);
      expect(await run((tx) => tx.keySets.get(id))).toMatchObject({ oneTimePreKeyCount: 250, pqOneTimePreKeyCount: 3 });
      const existing = await run((tx) => tx.oneTimePreKeys.existingKeyIds(id, 'ec', ['k0', 'k249', 'k250', 'zz']));
      expect(existing.sort()).toEqual(['k0', 'k249']);
      expect(await run((tx) => tx.oneTimePreKeys.existingKeyIds(id, 'ec', []))).toEqual([]);
      expect(await run((tx) => tx.oneTimePreKeys.existingKeyIds(id, 'kyber', ['k1', 'k9']))).toEqual(['k1']);
      await expect(run((tx) => tx.oneTimePreKeys.insertMany(id, 'ec', [{ keyId: 'k5', publicKey: 'dup' }], 'x'))).rejects.toThrow();
      expect((await run((tx) => tx.keySets.get(id)))!.oneTimePreKeyCount).toBe(250); // the failed transaction left nothing
    });

    it('takeOldest removes keys oldest first, moves the EC counter, and returns undefined when none is left', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('gina')));
      await run(async (tx) => {
        await tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(2, 'first'), '2024-01-01T00:00:00.000Z');
        await tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(1, 'second'), '2024-01-02T00:00:00.000Z');
        await tx.oneTimePreKeys.insertMany(id, 'kyber', [{ keyId: 'pq0', publicKey: 'pqpub', signature: 'pqsig' }], '2024-01-01T00:00:00.000Z');
      });
      expect(await run((tx) => tx.oneTimePreKeys.takeOldest(id, 'ec'))).toEqual({ keyId: 'first0', publicKey: 'pub_first0', signature: null });
      expect(await run((tx) => tx.oneTimePreKeys.takeOldest(id, 'kyber'))).toEqual({ keyId: 'pq0', publicKey: 'pqpub', signature: 'pqsig' });
      expect(await run((tx) => tx.oneTimePreKeys.takeOldest(id, 'kyber'))).toBeUndefined();
      expect(await run((tx) => tx.keySets.get(id))).toMatchObject({ oneTimePreKeyCount: 2, pqOneTimePreKeyCount: 0 }); // each kind moves its own counter
      expect((await run((tx) => tx.oneTimePreKeys.takeOldest(id, 'ec')))!.keyId).toBe('first1');
      expect((await run((tx) => tx.oneTimePreKeys.takeOldest(id, 'ec')))!.keyId).toBe('second0');
      expect(await run((tx) => tx.oneTimePreKeys.takeOldest(id, 'ec'))).toBeUndefined();
      expect((await run((tx) => tx.keySets.get(id)))!.oneTimePreKeyCount).toBe(0);
    });

    it('a rolled-back take leaves the key in place', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('hank')));
      await run((tx) => tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(1), 'x'));
      await expect(
        run(async (tx) => {
          await tx.oneTimePreKeys.takeOldest(id, 'ec');
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await run((tx) => tx.oneTimePreKeys.count(id, 'ec'))).toBe(1);
      expect((await run((tx) => tx.keySets.get(id)))!.oneTimePreKeyCount).toBe(1);
    });

    it('deleteAll empties one kind and resets its counter', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('iris')));
      await run(async (tx) => {
        await tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(4), 'x');
        await tx.oneTimePreKeys.insertMany(id, 'kyber', preKeys(2), 'x');
      });
      await run((tx) => tx.oneTimePreKeys.deleteAll(id, 'kyber'));
      expect(await run((tx) => tx.keySets.get(id))).toMatchObject({ oneTimePreKeyCount: 4, pqOneTimePreKeyCount: 0 });
      await run((tx) => tx.oneTimePreKeys.deleteAll(id, 'ec'));
      expect(await run((tx) => tx.oneTimePreKeys.count(id, 'ec'))).toBe(0);
      expect((await run((tx) => tx.keySets.get(id)))!.oneTimePreKeyCount).toBe(0);
    });

    it('concurrent takes never hand out the same key, and the counter ends exact', async () => {
      const { id } = await run((tx) => tx.keySets.insert(keySet('jack')));
      await run((tx) => tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(20), 'x'));
      const taken = await Promise.all(
        Array.from({ length: 30 }, () =>
          run(async (tx) => {
            const [current] = await tx.keySets.listForUser('p1', 'jack');
            const key = await tx.oneTimePreKeys.takeOldest(id, 'ec');
            return { key: key?.keyId ?? null, remaining: key ? current!.oneTimePreKeyCount - 1 : current!.oneTimePreKeyCount };
          }),
        ),
      );
      const keys = taken.map((t) => t.key).filter((key) => key !== null);
      expect(keys).toHaveLength(20);
      expect(new Set(keys).size).toBe(20);
      // Reads of the key set are consistent with the take: each remaining count is reported once.
      expect(
        taken
          .filter((t) => t.key !== null)
          .map((t) => t.remaining)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 20 }, (_, index) => index));
      expect((await run((tx) => tx.keySets.get(id)))!.oneTimePreKeyCount).toBe(0);
    });
    it('takeOldestOfEach takes the oldest key of each key set in one go; a key set with none left is absent', async () => {
      const ids: number[] = [];
      for (const deviceId of ['d1', 'd2', 'd3']) ids.push((await run((tx) => tx.keySets.insert(keySet('kate', { deviceId })))).id);
      await run(async (tx) => {
        await tx.oneTimePreKeys.insertMany(ids[0]!, 'ec', preKeys(2, 'a'), 'x');
        await tx.oneTimePreKeys.insertMany(ids[1]!, 'ec', preKeys(1, 'b'), 'x');
        await tx.oneTimePreKeys.insertMany(ids[1]!, 'kyber', [{ keyId: 'pq', publicKey: 'pqpub', signature: 'pqsig' }], 'x');
      });
      const taken = await run((tx) => tx.oneTimePreKeys.takeOldestOfEach([...ids, ids[0]!], 'ec'));
      expect([...taken.entries()].sort(([a], [b]) => a - b)).toEqual([
        [ids[0], { keyId: 'a0', publicKey: 'pub_a0', signature: null }],
        [ids[1], { keyId: 'b0', publicKey: 'pub_b0', signature: null }],
      ]);
      const counts = await run(async (tx) => Promise.all(ids.map(async (id) => (await tx.keySets.get(id))!.oneTimePreKeyCount)));
      expect(counts).toEqual([1, 0, 0]);
      expect((await run((tx) => tx.keySets.get(ids[1]!)))!.pqOneTimePreKeyCount).toBe(1);
      const pq = await run((tx) => tx.oneTimePreKeys.takeOldestOfEach(ids, 'kyber'));
      expect([...pq.values()]).toEqual([{ keyId: 'pq', publicKey: 'pqpub', signature: 'pqsig' }]);
      // each kind moves its own counter: the ML-KEM one of the key set it came from, never the EC one
      const pqCounts = await run(async (tx) => Promise.all(ids.map(async (id) => (await tx.keySets.get(id))!.pqOneTimePreKeyCount)));
      expect(pqCounts).toEqual([0, 0, 0]);
      expect(await run((tx) => tx.keySets.get(ids[0]!))).toMatchObject({ oneTimePreKeyCount: 1 });
      expect((await run((tx) => tx.keySets.get(ids[1]!)))!.oneTimePreKeyCount).toBe(0);
      expect((await run((tx) => tx.oneTimePreKeys.takeOldestOfEach([], 'ec'))).size).toBe(0);
    });

    it('concurrent takeOldestOfEach never hands out a key twice', async () => {
      const ids: number[] = [];
      for (const deviceId of ['d1', 'd2']) ids.push((await run((tx) => tx.keySets.insert(keySet('liam', { deviceId })))).id);
      await run(async (tx) => {
        for (const id of ids) await tx.oneTimePreKeys.insertMany(id, 'ec', preKeys(10, `l${id}_`), 'x');
      });
      const taken = await Promise.all(Array.from({ length: 15 }, () => run((tx) => tx.oneTimePreKeys.takeOldestOfEach(ids, 'ec'))));
      const keys = taken.flatMap((each) => [...each.values()].map((key) => key.keyId));
      expect(keys).toHaveLength(20);
      expect(new Set(keys).size).toBe(20);
    });
  });

  describe('device lists', () => {
    it('bump counts from 1 per user, get reads it back; expiriesSeenAt only moves forward', async () => {
      expect(await run((tx) => tx.deviceLists.get('p1', 'mia'))).toBeUndefined();
      expect(await run((tx) => tx.deviceLists.bump('p1', 'mia', '2024-01-02T00:00:00.000Z'))).toBe(1);
      expect(await run((tx) => tx.deviceLists.bump('p1', 'mia', '2024-01-01T00:00:00.000Z'))).toBe(2);
      expect(await run((tx) => tx.deviceLists.get('p1', 'mia'))).toEqual({ version: 2, expiriesSeenAt: '2024-01-02T00:00:00.000Z' });
      expect(await run((tx) => tx.deviceLists.bump('p2', 'mia', '2024-01-03T00:00:00.000Z'))).toBe(1); // per project
      await expect(
        run(async (tx) => {
          await tx.deviceLists.bump('p1', 'mia', '2024-01-05T00:00:00.000Z');
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect((await run((tx) => tx.deviceLists.get('p1', 'mia')))!.version).toBe(2); // a rolled-back bump leaves nothing
    });

    it('concurrent bumps of one user give each version once', async () => {
      const versions = await Promise.all(Array.from({ length: 20 }, () => run((tx) => tx.deviceLists.bump('p1', 'noah', '2024-01-01T00:00:00.000Z'))));
      expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    });
  });

  describe('backups', () => {
    it('insert, latest and get by version; versions are unique per user', async () => {
      const backup = (version: number) => ({
        projectId: 'p1',
        userId: 'kim',
        version,
        encryptedBundle: btoa(`blob ${version}`),
        encryptionMetadata: { alg: 'aes', nested: { v: version } },
        checksum: `sum${version}`,
        createdAt: `2024-01-0${version}T00:00:00.000Z`,
      });
      expect(await run((tx) => tx.backups.latest('p1', 'kim'))).toBeUndefined();
      await run((tx) => tx.backups.insert(backup(1)));
      await run((tx) => tx.backups.insert(backup(2)));
      expect(await run((tx) => tx.backups.latest('p1', 'kim'))).toEqual(backup(2));
      expect(await run((tx) => tx.backups.get('p1', 'kim', 1))).toEqual(backup(1));
      expect(await run((tx) => tx.backups.get('p1', 'kim', 3))).toBeUndefined();
      expect(await run((tx) => tx.backups.latest('p2', 'kim'))).toBeUndefined();
      await expect(run((tx) => tx.backups.insert(backup(2)))).rejects.toThrow();
      expect(await run((tx) => tx.backups.latestVersion('p1', 'kim'))).toBe(2);
      expect(await run((tx) => tx.backups.latestVersion('p1', 'nobody'))).toBe(0);
    });

    it('prunes all but the newest versions, and sums the decoded bytes of a project', async () => {
      const backup = (userId: string, version: number, bytes: number) => ({
        projectId: 'p1',
        userId,
        version,
        encryptedBundle: Buffer.alloc(bytes, version).toString('base64'),
        encryptionMetadata: {},
        checksum: 'sum',
        createdAt: '2024-01-01T00:00:00.000Z',
      });
      await run(async (tx) => {
        for (let version = 1; version <= 4; version++) await tx.backups.insert(backup('ava', version, 100));
        await tx.backups.insert(backup('bo', 1, 7));
        await tx.backups.insert({ ...backup('bo', 1, 50), projectId: 'p2' });
      });
      expect(await run((tx) => tx.backups.storedBytes('p1'))).toBe(407);
      expect(await run((tx) => tx.backups.pruneVersions('p1', 'ava', 2))).toBe(2);
      expect(await run((tx) => tx.backups.get('p1', 'ava', 2))).toBeUndefined();
      expect((await run((tx) => tx.backups.get('p1', 'ava', 3)))!.encryptedBundle).toBe(backup('ava', 3, 100).encryptedBundle);
      expect(await run((tx) => tx.backups.storedBytes('p1'))).toBe(207);
      expect(await run((tx) => tx.backups.pruneVersions('p1', 'bo', 1))).toBe(0);
      expect(await run((tx) => tx.backups.storedBytes('p2'))).toBe(50);
      expect(await run((tx) => tx.backups.storedBytes('p3'))).toBe(0);
    });
  });

  describe('sessions', () => {
    const session = (sessionId: string, initiator: string, responder: string, expiresAt: string) => ({
      sessionId,
      projectId: 'p1',
      initiatorUserId: initiator,
      responderUserId: responder,
      responderDeviceId: 'default',
      initiatorIdentityKey: 'ik',
      initiatorEphemeralKey: 'ek',
      signedPreKeyId: 'spk',
      oneTimePreKeyId: null as string | null,
      lastResortPreKeyId: null as string | null,
      pqPreKeyId: null as string | null,
      pqPreKeyLastResort: false,
      kemCiphertext: null as string | null,
      status: 'pending' as const,
      createdAt: '2024-01-01T00:00:00.000Z',
      expiresAt,
      completedAt: null,
    });

    it('insert, get, complete, peersOf (either side, unexpired, not self) and deleteExpired', async () => {
      await run(async (tx) => {
        await tx.sessions.insert(session('s1', 'lee', 'max', '2024-01-02T00:00:00.000Z'));
        await tx.sessions.insert({ ...session('s2', 'ned', 'lee', '2024-01-03T00:00:00.000Z'), oneTimePreKeyId: 'opk9' });
        await tx.sessions.insert(session('s3', 'oz', 'lee', '2023-12-31T00:00:00.000Z'));
        await tx.sessions.insert(session('s4', 'lee', 'lee', '2024-01-03T00:00:00.000Z'));
      });
      expect(await run((tx) => tx.sessions.get('p1', 's2'))).toEqual({ ...session('s2', 'ned', 'lee', '2024-01-03T00:00:00.000Z'), oneTimePreKeyId: 'opk9' });
      expect(await run((tx) => tx.sessions.get('p2', 's2'))).toBeUndefined();
      await run((tx) => tx.sessions.complete('p1', 's1', '2024-01-01T12:00:00.000Z'));
      expect(await run((tx) => tx.sessions.get('p1', 's1'))).toMatchObject({ status: 'completed', completedAt: '2024-01-01T12:00:00.000Z' });
      expect((await run((tx) => tx.sessions.peersOf('p1', 'lee', '2024-01-01T00:00:00.000Z'))).sort()).toEqual(['max', 'ned']);
      expect(await run((tx) => tx.sessions.signedPreKeysInUse('p1', 'lee', 'default', '2024-01-01T00:00:00.000Z'))).toEqual(['spk']);
      expect(await run((tx) => tx.sessions.signedPreKeysInUse('p1', 'lee', 'default', '2024-01-05T00:00:00.000Z'))).toEqual([]);
      expect(await run((tx) => tx.sessions.signedPreKeysInUse('p1', 'lee', 'other', '2024-01-01T00:00:00.000Z'))).toEqual([]);
      expect(await run((tx) => tx.sessions.peersOf('p1', 'lee', '2024-01-02T00:00:00.000Z'))).toEqual(['ned']);
      expect(await run((tx) => tx.sessions.deleteExpired('2024-01-02T00:00:00.000Z'))).toBe(2);
      expect(await run((tx) => tx.sessions.get('p1', 's1'))).toBeUndefined();
      expect(await run((tx) => tx.sessions.get('p1', 's2'))).toBeDefined();
    });

    it('keeps the last-resort pre-key id (or null) through insert, get and complete', async () => {
      const lastResort = { ...session('lr1', 'kai', 'lou', '2024-01-03T00:00:00.000Z'), lastResortPreKeyId: 'lrk_7' };
      const oneTime = { ...session('lr2', 'kai', 'lou', '2024-01-03T00:00:00.000Z'), oneTimePreKeyId: 'opk_1' };
      const neither = session('lr3', 'kai', 'lou', '2024-01-03T00:00:00.000Z');
      await run(async (tx) => {
        for (const record of [lastResort, oneTime, neither]) await tx.sessions.insert(record);
      });
      expect(await run((tx) => tx.sessions.get('p1', 'lr1'))).toEqual(lastResort);
      expect(await run((tx) => tx.sessions.get('p1', 'lr2'))).toEqual(oneTime);
      expect(await run((tx) => tx.sessions.get('p1', 'lr3'))).toEqual(neither);
      expect((await run((tx) => tx.sessions.get('p1', 'lr3')))!.lastResortPreKeyId).toBeNull();
      await run((tx) => tx.sessions.complete('p1', 'lr1', '2024-01-01T12:00:00.000Z'));
      expect(await run((tx) => tx.sessions.get('p1', 'lr1'))).toEqual({ ...lastResort, status: 'completed', completedAt: '2024-01-01T12:00:00.000Z' });
    });

    it('keeps the ML-KEM pre-key used (one-time or last resort) and stores the ciphertext sent later, per project', async () => {
      const oneTime = { ...session('pq1', 'kai', 'lou', '2024-01-03T00:00:00.000Z'), pqPreKeyId: 'pqk_1' };
      const lastResort = { ...session('pq2', 'kai', 'lou', '2024-01-03T00:00:00.000Z'), pqPreKeyId: 'pqlr_1', pqPreKeyLastResort: true };
      await run(async (tx) => {
        await tx.sessions.insert(oneTime);
        await tx.sessions.insert(lastResort);
      });
      expect(await run((tx) => tx.sessions.get('p1', 'pq1'))).toEqual(oneTime);
      expect(await run((tx) => tx.sessions.get('p1', 'pq2'))).toEqual(lastResort);
      await run((tx) => tx.sessions.setKemCiphertext('p2', 'pq1', 'elsewhere'));
      expect((await run((tx) => tx.sessions.get('p1', 'pq1')))!.kemCiphertext).toBeNull();
      await run((tx) => tx.sessions.setKemCiphertext('p1', 'pq1', 'ab'.repeat(1568)));
      expect(await run((tx) => tx.sessions.get('p1', 'pq1'))).toEqual({ ...oneTime, kemCiphertext: 'ab'.repeat(1568) });
    });
  });

  describe('audit', () => {
    it('head, insert (details stored as exact text, key order kept), query filters/pages, scan', async () => {
      expect(await run((tx) => tx.audit.head('p1'))).toBeUndefined();
      await run(async (tx) => {
        await appendAuditEntry(tx, 'p1', 'KEYS_REGISTERED', 'u1', '2024-01-01T00:00:00.000Z', { z: 1, a: { y: [1, 'x'], b: null } });
        await appendAuditEntry(tx, 'p1', 'BUNDLE_FETCHED', 'u2', '2024-01-02T00:00:00.000Z');
        await appendAuditEntry(tx, 'p2', 'BUNDLE_FETCHED', 'u2', '2024-01-02T00:00:00.000Z');
        await appendAuditEntry(tx, 'p1', 'BUNDLE_FETCHED', null, '2024-01-03T00:00:00.000Z');
      });
      const all = await run((tx) => tx.audit.query({ projectId: 'p1', offset: 0, limit: 10 }));
      expect(all.total).toBe(3);
      expect(all.items.map((e) => e.createdAt)).toEqual(['2024-01-03T00:00:00.000Z', '2024-01-02T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
      const registered = all.items[2]!;
      expect(Object.keys(registered.details)).toEqual(['z', 'a']);
      expect(JSON.stringify(registered.details)).toBe('{"z":1,"a":{"y":[1,"x"],"b":null}}');
      expect(auditEntryHash(registered)).toBe(registered.hash);
      expect(await run((tx) => tx.audit.head('p1'))).toBe(all.items[0]!.hash);
      expect(all.items[0]!.userId).toBeNull();

      const ids = async (query: Partial<Parameters<StoreTx['audit']['query']>[0]>) =>
        (await run((tx) => tx.audit.query({ projectId: 'p1', offset: 0, limit: 10, ...query }))).items.map((e) => e.createdAt.slice(8, 10));
      expect(await ids({ userId: 'u2' })).toEqual(['02']);
      expect(await ids({ action: 'BUNDLE_FETCHED' })).toEqual(['03', '02']);
      expect(await ids({ startDate: '2024-01-02T00:00:00.000Z' })).toEqual(['03', '02']);
      expect(await ids({ endDate: '2024-01-02T00:00:00.000Z' })).toEqual(['02', '01']);
      expect(await ids({ offset: 1, limit: 1 })).toEqual(['02']);

      const scanned: AuditEntry[] = await run((tx) => tx.audit.scan('p1', 0, 2));
      expect(scanned.map((e) => e.createdAt.slice(8, 10))).toEqual(['01', '02']);
      expect(await run((tx) => tx.audit.scan('p1', scanned[1]!.id, 10))).toHaveLength(1);
      expect(await run((tx) => tx.audit.lastId('p1'))).toBe(all.items[0]!.id);
      expect(await run((tx) => tx.audit.lastId('p_none'))).toBe(0);
      expect(await verifyAuditChain({ store, settings: defaultDomainSettings, clock: systemClock }, 'p1')).toMatchObject({ valid: true, entries: 3 });
    });

    it('keeps the chain intact under concurrent appends', async () => {
      await Promise.all(
        Array.from({ length: 25 }, (_, index) => run((tx) => appendAuditEntry(tx, 'p1', 'KEY_VERIFIED', `u${index}`, new Date().toISOString()))),
      );
      expect(await verifyAuditChain({ store, settings: defaultDomainSettings, clock: systemClock }, 'p1')).toMatchObject({ valid: true, entries: 25 });
    });
  });

  describe('events', () => {
    const event = (projectId: string, userId: string, name: string, createdAt = '2024-01-01T00:00:00.000Z') => ({
      projectId,
      userId,
      event: name,
      data: { n: name, z: 1, a: 2 },
      createdAt,
    });

    it('append gives increasing decimal ids; listAfter, latestId and deleteOlderThan', async () => {
      expect(await run((tx) => tx.events.latestId('p1'))).toBe('0');
      const stored = await run(async (tx) => [
        await tx.events.append(event('p1', 'u1', 'e1', '2023-12-31T00:00:00.000Z')),
        await tx.events.append(event('p1', 'u2', 'e2')),
        await tx.events.append(event('p2', 'u1', 'e3')),
        await tx.events.append(event('p1', 'u1', 'e4')),
      ]);
      for (const item of stored) expect(item.id).toMatch(/^[1-9][0-9]*$/);
      const ids = stored.map((item) => Number(item.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(4);
      expect(stored[0]).toEqual({ ...event('p1', 'u1', 'e1', '2023-12-31T00:00:00.000Z'), id: stored[0]!.id });

      const names = async (userIds: string[], afterId: string, limit = 10) =>
        (await run((tx) => tx.events.listAfter('p1', userIds, afterId, limit))).map((e) => e.event);
      expect(await names(['u1'], '0')).toEqual(['e1', 'e4']);
      expect(await names(['u1', 'u2'], stored[0]!.id)).toEqual(['e2', 'e4']);
      expect(await names(['u1', 'u2'], '0', 2)).toEqual(['e1', 'e2']);
      expect(await names([], '0')).toEqual([]);
      expect(await names(['u1'], stored[3]!.id)).toEqual([]);
      expect(await names(['u1'], '99999999999999999999999')).toEqual([]);
      expect(await names(['u1'], 'not-an-id')).toEqual([]);
      expect(await names(['u1'], '-5')).toEqual(['e1', 'e4']);
      expect((await run((tx) => tx.events.listAfter('p1', ['u1'], '0', 10)))[0]!.data).toEqual({ n: 'e1', z: 1, a: 2 });
      expect(await run((tx) => tx.events.latestId('p1'))).toBe(stored[3]!.id);
      expect(await run((tx) => tx.events.latestId('p2'))).toBe(stored[2]!.id);
      expect(await run((tx) => tx.events.deleteOlderThan('2024-01-01T00:00:00.000Z'))).toBe(1);
      expect(await names(['u1'], '0')).toEqual(['e4']);
    });

    it('appendMany stores events in the given order with increasing ids (several projects too), delivered once committed', async () => {
      const delivered: StoredEvent[] = [];
      const stop = store.onEvents((events) => delivered.push(...events));
      const given = [event('p1', 'u1', 'm1'), event('p2', 'u2', 'm2'), event('p1', 'u3', 'm3')];
      const stored = await run(async (tx) => {
        const first = await tx.events.append(event('p1', 'u1', 'm0'));
        return [first, ...(await tx.events.appendMany(given)), ...(await tx.events.appendMany([]))];
      });
      expect(stored.map((item) => item.event)).toEqual(['m0', 'm1', 'm2', 'm3']);
      const ids = stored.map((item) => Number(item.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(4);
      expect(stored[2]).toEqual({ ...given[1], id: stored[2]!.id });
      const listed = await run((tx) => tx.events.listAfter('p1', ['u1', 'u3'], '0', 10));
      expect(listed.map((item) => [item.event, item.data.n])).toEqual([
        ['m0', 'm0'],
        ['m1', 'm1'],
        ['m3', 'm3'],
      ]);
      expect(await run((tx) => tx.events.latestId('p2'))).toBe(stored[2]!.id);
      await expect.poll(() => delivered.map((item) => item.event).sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
      stop();
    });

    it('delivers the events of a transaction to onEvents once it committed, never those of a rolled-back one', async () => {
      const seen: StoredEvent[][] = [];
      const unsubscribe = store.onEvents((events) => seen.push(events));
      await expect(
        run(async (tx) => {
          await tx.events.append(event('p1', 'u1', 'lost'));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const appended = await run(async (tx) => [await tx.events.append(event('p1', 'u1', 'a')), await tx.events.append(event('p1', 'u2', 'b'))]);
      expect(seen.flat().map((e) => e.event)).toEqual(['a', 'b']); // before transaction() resolved
      expect(seen.flat()).toEqual(appended);
      await run((tx) => tx.audit.head('p1')); // no events: nothing delivered
      unsubscribe();
      await run((tx) => tx.events.append(event('p1', 'u1', 'c')));
      expect(seen.flat().map((e) => e.event)).toEqual(['a', 'b']);
    });

    it('concurrent transactions deliver every event once, in id order per project', async () => {
      const seen: StoredEvent[] = [];
      store.onEvents((events) => seen.push(...events));
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          run(async (tx) => {
            await tx.events.append(event('p1', `u${index}`, 'x'));
            await tx.events.append(event('p1', `u${index}`, 'y'));
          }),
        ),
      );
      await expect.poll(() => seen.length).toBe(40);
      const ids = seen.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(40);
    });
  });

  describe('API keys', () => {
    it('tells onApiKeyChanges of revoked, narrowed and deleted keys before transaction() resolves, never of a rolled-back change', async () => {
      await run((tx) => tx.apiKeys.insert(apiKey('chg1')));
      const seen: Array<readonly string[] | null> = [];
      const unsubscribe = store.onApiKeyChanges((uids) => seen.push(uids));
      await expect(
        run(async (tx) => {
          await tx.apiKeys.update('chg1', { revoked: true });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      await run((tx) => tx.apiKeys.update('chg1', { description: 'only a label', updatedAt: '2024-02-01T00:00:00.000Z' }));
      await run((tx) => tx.apiKeys.touch('chg1', '2024-02-01T00:00:00.000Z'));
      expect(seen).toEqual([]);
      await run((tx) => tx.apiKeys.update('chg1', { userIds: ['narrow'] }));
      // Before transaction() resolved; on PostgreSQL the commit's notification tells it again.
      expect(seen[0]).toEqual(['chg1']);
      seen.length = 0;
      await run(async (tx) => void (await tx.apiKeys.delete('chg1')));
      expect(seen.at(-1)).toEqual(['chg1']);
      await run(async (tx) => void (await tx.apiKeys.delete('chg1'))); // already gone: no change
      await new Promise((resolve) => setTimeout(resolve, 100));
      unsubscribe();
      expect(seen.every((uids) => uids !== null && uids.length === 1 && uids[0] === 'chg1')).toBe(true);
    });

    it('insert, findByHash, get, update, touch, delete', async () => {
      await run((tx) =>
        tx.apiKeys.insert(
          apiKey('uid1', { description: 'first', expiresAt: '2030-01-01T00:00:00.000Z', acl: ['keys.read', 'bundles.fetch'], userIds: ['dev_*'] }),
        ),
      );
      const stored = await run((tx) => tx.apiKeys.get('uid1'));
      expect(stored).toEqual(
        apiKey('uid1', { description: 'first', expiresAt: '2030-01-01T00:00:00.000Z', acl: ['keys.read', 'bundles.fetch'], userIds: ['dev_*'] }),
      );
      expect(await run((tx) => tx.apiKeys.findByHash('hash_uid1'))).toEqual(stored);
      expect(await run((tx) => tx.apiKeys.findByHash('nope'))).toBeUndefined();
      await expect(run((tx) => tx.apiKeys.insert(apiKey('uid2', { hash: 'hash_uid1' })))).rejects.toThrow();
      await run((tx) => tx.apiKeys.update('uid1', { revoked: true, acl: ['*'], userIds: ['a'], description: null, updatedAt: '2024-02-01T00:00:00.000Z' }));
      await run((tx) => tx.apiKeys.update('uid1', {}));
      await run((tx) => tx.apiKeys.touch('uid1', '2024-02-02T00:00:00.000Z'));
      expect(await run((tx) => tx.apiKeys.get('uid1'))).toMatchObject({
        revoked: true,
        acl: ['*'],
        userIds: ['a'],
        description: null,
        updatedAt: '2024-02-01T00:00:00.000Z',
        lastUsedAt: '2024-02-02T00:00:00.000Z',
      });
      expect(await run((tx) => tx.apiKeys.delete('uid1'))).toBe(true);
      expect(await run((tx) => tx.apiKeys.delete('uid1'))).toBe(false);
      expect(await run((tx) => tx.apiKeys.get('uid1'))).toBeUndefined();
    });

    it('list: newest first (insertion order breaks ties), project filter, case-insensitive search with literal % and _', async () => {
      await run(async (tx) => {
        await tx.apiKeys.insert(apiKey('a', { description: 'Alpha 100%', createdAt: '2024-01-01T00:00:00.000Z' }));
        await tx.apiKeys.insert(apiKey('b', { description: 'beta_one', createdAt: '2024-01-02T00:00:00.000Z' }));
        await tx.apiKeys.insert(apiKey('c', { description: 'betaXone', createdAt: '2024-01-02T00:00:00.000Z' }));
        await tx.apiKeys.insert(apiKey('d', { description: null, projectId: 'p2', createdAt: '2024-01-03T00:00:00.000Z' }));
      });
      const uids = async (query: { projectId?: string; search?: string; offset?: number; limit?: number }) => {
        const result = await run((tx) => tx.apiKeys.list({ offset: 0, limit: 10, ...query }));
        return { uids: result.items.map((k) => k.uid), total: result.total };
      };
      expect(await uids({})).toEqual({ uids: ['d', 'c', 'b', 'a'], total: 4 });
      expect(await uids({ projectId: 'p1' })).toEqual({ uids: ['c', 'b', 'a'], total: 3 });
      expect(await uids({ search: 'ALPHA' })).toEqual({ uids: ['a'], total: 1 });
      expect(await uids({ search: '0%' })).toEqual({ uids: ['a'], total: 1 });
      expect(await uids({ search: 'a_o' })).toEqual({ uids: ['b'], total: 1 });
      expect(await uids({ projectId: 'p1', offset: 1, limit: 1 })).toEqual({ uids: ['b'], total: 3 });
    });
  });

  describe('public keys', () => {
    const publicKey = (id: string, ownerId: string, name: string, createdAt: string, projectId = 'p1') => ({
      id,
      projectId,
      ownerId,
      name,
      keyType: 'ed25519',
      publicKey: `pk_${id}`,
      createdAt,
    });

    it('insert, get, findByName, list (newest first, owner filter), delete; names unique per owner', async () => {
      await run(async (tx) => {
        await tx.publicKeys.insert(publicKey('k1', 'o1', 'main', '2024-01-01T00:00:00.000Z'));
        await tx.publicKeys.insert(publicKey('k2', 'o1', 'backup', '2024-01-02T00:00:00.000Z'));
        await tx.publicKeys.insert(publicKey('k3', 'o2', 'main', '2024-01-02T00:00:00.000Z'));
        await tx.publicKeys.insert(publicKey('k4', 'o1', 'main', '2024-01-02T00:00:00.000Z', 'p2'));
      });
      await expect(run((tx) => tx.publicKeys.insert(publicKey('k5', 'o1', 'main', '2024-01-05T00:00:00.000Z')))).rejects.toThrow();
      expect(await run((tx) => tx.publicKeys.get('p1', 'k1'))).toEqual(publicKey('k1', 'o1', 'main', '2024-01-01T00:00:00.000Z'));
      expect(await run((tx) => tx.publicKeys.get('p2', 'k1'))).toBeUndefined();
      expect((await run((tx) => tx.publicKeys.findByName('p1', 'o2', 'main')))?.id).toBe('k3');
      expect(await run((tx) => tx.publicKeys.findByName('p1', 'o3', 'main'))).toBeUndefined();
      const all = await run((tx) => tx.publicKeys.list({ projectId: 'p1', offset: 0, limit: 10 }));
      expect({ ids: all.items.map((k) => k.id), total: all.total }).toEqual({ ids: ['k3', 'k2', 'k1'], total: 3 });
      const owned = await run((tx) => tx.publicKeys.list({ projectId: 'p1', ownerId: 'o1', offset: 1, limit: 5 }));
      expect({ ids: owned.items.map((k) => k.id), total: owned.total }).toEqual({ ids: ['k1'], total: 2 });
      expect(await run((tx) => tx.publicKeys.delete('p2', 'k1'))).toBe(false);
      expect(await run((tx) => tx.publicKeys.delete('p1', 'k1'))).toBe(true);
      expect(await run((tx) => tx.publicKeys.get('p1', 'k1'))).toBeUndefined();
    });
  });

  describe('settings and counters', () => {
    it('settings get/set upserts', async () => {
      expect(await run((tx) => tx.settings.get('s'))).toBeUndefined();
      await run((tx) => tx.settings.set('s', 'one'));
      await run((tx) => tx.settings.set('s', 'two'));
      expect(await run((tx) => tx.settings.get('s'))).toBe('two');
    });

    it('counters count per key and fixed window, with cost, and peek without adding', async () => {
      const minute = 60_000;
      const start = 1_700_000_040_000; // a window boundary
      expect(await store.counters.hit('k', minute, start + 5)).toEqual({ count: 1, resetAt: start + minute });
      expect(await store.counters.hit('k', minute, start + 10, 3)).toEqual({ count: 4, resetAt: start + minute });
      expect(await store.counters.hit('other', minute, start + 10)).toEqual({ count: 1, resetAt: start + minute });
      expect(await store.counters.peek('k', minute, start + 20)).toBe(4);
      expect(await store.counters.hit('k', minute, start + minute)).toEqual({ count: 1, resetAt: start + 2 * minute });
      expect(await store.counters.peek('never', minute, start)).toBe(0);
    });

    it('counts concurrent hits exactly', async () => {
      const results = await Promise.all(Array.from({ length: 40 }, () => store.counters.hit('busy', 60_000, 1_700_000_000_000)));
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
    });
  });
});
