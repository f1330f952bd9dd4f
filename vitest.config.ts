import { defineConfig } from 'vitest/config';

/**
 * The backend matrix (see test/helpers/backend.ts):
 * - `sqljs`: every test on the embedded store. The store tests in it (test/store/store-contract,
 *   postgres-instances, migrate-embedded) also exercise PGlite.
 * - `pglite` (`npm run test:pglite`): the app.request-level suite again on PostgreSQL compiled to
 *   WebAssembly, in process, so the PostgreSQL backend's SQL can be tested on any machine. Not in
 *   `npm test` (it would add a third to its time); CI runs the same suite on a real server instead.
 * - `postgres` (only with PREKEYD_TEST_PG_URL): the same suite and the store tests on a real
 *   server, plus test/postgres (two server processes on one database, connection loss).
 * Tests that spawn servers or administer the embedded database file run on sqljs only.
 * Run one project with e.g. `npx vitest run --project pglite test/routes`.
 */
const appLevel = [
  'test/routes/**/*.test.ts',
  'test/auth-every-route.test.ts',
  'test/project-isolation.test.ts',
  'test/user-scoping.test.ts',
  'test/signal/v2-keys.test.ts',
  'test/fuzz/**/*.test.ts',
  'test/hostile/**/*.test.ts',
];
/** Matched by appLevel but spawning its own embedded-store server: runs on sqljs only. */
const sqljsOnly = [
  'test/fuzz/push-frames.fuzz.test.ts',
  'test/hostile/backup-growth.test.ts',
  'test/hostile/pattern-redos.test.ts',
  'test/hostile/pre-auth-resources.test.ts',
  'test/hostile/revoked-key-socket.test.ts', // test/postgres/revoked-key-socket is its PostgreSQL twin
];

/** Repository-level tests over every backend of their project (test/helpers/backend.ts availableBackends). */
const storeLevel = ['test/store/store-contract.test.ts', 'test/store/postgres-instances.test.ts', 'test/store/transparency-store.test.ts'];

const pgUrl = process.env.PREKEYD_TEST_PG_URL;

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: spawned-server tests run beside app.request tests without starving each other.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'sqljs', include: ['test/**/*.test.ts'], exclude: ['test/postgres/**'], env: { PREKEYD_TEST_BACKEND: 'sqljs' } },
      },
      { extends: true, test: { name: 'pglite', include: appLevel, exclude: sqljsOnly, env: { PREKEYD_TEST_BACKEND: 'pglite' } } },
      ...(pgUrl
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: [...appLevel, ...storeLevel, 'test/postgres/**/*.test.ts'],
                exclude: sqljsOnly,
                env: { PREKEYD_TEST_BACKEND: 'postgres' },
                setupFiles: ['test/helpers/backend-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
