/**
 * Builds the real app on a fresh store for `app.request` tests: embedded by default, PostgreSQL
 * (PGlite or a server) when PREKEYD_TEST_BACKEND says so (see backend.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator, hashToken } from '../../src/domain/authentication.ts';
import { type Clock, type DomainSettings, defaultDomainSettings, systemClock } from '../../src/domain/deps.ts';
import { type AppDeps, createApp, type HttpSettings } from '../../src/app.ts';
import { RefusalLog } from '../../src/domain/refusals.ts';
import type { Store } from '../../src/store/types.ts';
import { TransparencyLog, type TransparencySettings } from '../../src/domain/transparency/log.ts';
import { createLogger, jsonFormat } from '../../src/log.ts';
import { assertNoSecrets } from './log-secrets.ts';
import { openTestStore, testBackend, type TestStore } from './backend.ts';

export const masterKey = 'test-master-key-0123456789abcdef0123456789';

export interface TestAppOptions {
  settings?: Partial<DomainSettings>;
  http?: Partial<HttpSettings>;
  clock?: Clock;
  /** Reuse a store (e.g. across a simulated restart). */
  store?: Store;
  dbPath?: string;
  /** Turns key transparency on (checkpoints every 20 ms unless given). */
  transparency?: Partial<TransparencySettings>;
}

export interface TestApp {
  app: ReturnType<typeof createApp>;
  store: Store;
  deps: AppDeps;
  dir: string;
  /** Every log line the app wrote (JSON). */
  logLines: string[];
  /** JSON request with the master key unless `token` is given (null: no Authorization). */
  call(method: string, path: string, body?: unknown, options?: { token?: string | null; headers?: Record<string, string> }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'prekeyd-test-'));
  // A given dbPath is reopened later (a simulated restart): its data outlives close().
  const opened: TestStore | undefined = options.store
    ? undefined
    : await openTestStore(testBackend, { path: options.dbPath ?? join(dir, 'prekeyd.db'), keep: options.dbPath !== undefined });
  const store = options.store ?? opened!.store;
  const clock = options.clock ?? systemClock;
  const settings = { ...defaultDomainSettings, ...options.settings };
  const transparency = options.transparency
    ? new TransparencyLog(
        store,
        {
          intervalMs: 20,
          originFor: (projectId) => `test.example/prekeyd/${projectId}`,
          witnesses: [],
          witnessTimeoutMs: 2000,
          publicProjects: [],
          waitMs: 5000,
          maxLeavesPerCheckpoint: 4096,
          ...options.transparency,
        },
        clock,
      )
    : undefined;
  transparency?.start();
  const base = { store, clock, settings, ...(transparency && { transparency }) };
  const deps: AppDeps = {
    ...base,
    authenticator: createAuthenticator(base, hashToken(masterKey)),
    refusals: new RefusalLog(base),
    http: { bodyLimit: 1024 * 1024, trustProxy: false, rateLimitKeys: 0, rateLimitBundle: 0, ...options.http },
    socketAddress: () => '127.0.0.1',
  };
  // Logs are on (debug) but kept in memory, and checked for secrets when the app closes.
  const logLines: string[] = [];
  deps.logger = createLogger('debug', (line) => logLines.push(line), jsonFormat);
  const app = createApp(deps);
  return {
    app,
    logLines,
    store,
    deps,
    dir,
    async call(method, path, body, { token = masterKey, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (token !== null) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
      if (body !== undefined) {
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
      }
      const response = await app.request(path, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async close() {
      await transparency?.stop();
      await opened?.dispose();
      rmSync(dir, { recursive: true, force: true });
      assertNoSecrets(logLines, 'test app');
      const unexpected = logLines.find((line) => /"msg":"unhandled error"/.test(line));
      if (unexpected) throw new Error(`test app answered a request with an unexpected error: ${unexpected.slice(0, 500)}`);
    },
  };
}
