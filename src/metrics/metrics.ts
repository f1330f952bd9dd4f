/**
 * Prometheus metrics (prom-client). Counters move where things happen; figures that live in
 * the database (pre-keys remaining, key sets by status) are read from the store at scrape time,
 * so they are right across several instances too.
 */
import { Hono } from 'hono';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RequestHistory } from './request-history.ts';

export interface StoreFigures {
  keySetsByStatus: Record<string, number>;
  oneTimePreKeysRemaining: number;
}

export interface Metrics {
  registry: Registry;
  /** Requests and errors per minute, the last hour (the console's chart). */
  requestHistory: RequestHistory;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  preKeysConsumed: Counter;
  rateLimitRejections: Counter;
  /** Refused requests by error code (4xx), 401s and 429s included. */
  requestsRefused: Counter;
  pushConnections: Gauge;
  pushEventsSent: Counter;
  journalFlushes: Histogram;
  /** Reads the store-backed gauges; called on every scrape. */
  setStoreFigures(read: () => Promise<StoreFigures>): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'prekeyd_' });
  const httpRequests = new Counter({
    name: 'prekeyd_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'prekeyd_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  let readFigures: (() => Promise<StoreFigures>) | undefined;
  new Gauge({
    name: 'prekeyd_one_time_prekeys_remaining',
    help: 'One-time pre-keys stored, all key sets',
    registers: [registry],
    async collect() {
      if (readFigures) this.set((await readFigures()).oneTimePreKeysRemaining);
    },
  });
  new Gauge({
    name: 'prekeyd_key_sets',
    help: 'Key sets by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      if (!readFigures) return;
      const figures = await readFigures();
      for (const [status, count] of Object.entries(figures.keySetsByStatus)) this.set({ status }, count);
    },
  });
  const requestHistory = new RequestHistory();
  return {
    registry,
    requestHistory,
    observeRequest(method, route, status, seconds) {
      requestHistory.record(status);
      const labels = { method, route, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    preKeysConsumed: new Counter({
      name: 'prekeyd_one_time_prekeys_consumed_total',
      help: 'One-time pre-keys handed out, by kind (ec, kyber)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    rateLimitRejections: new Counter({ name: 'prekeyd_rate_limit_rejections_total', help: 'Requests answered 429', registers: [registry] }),
    requestsRefused: new Counter({
      name: 'prekeyd_requests_refused_total',
      help: 'Requests refused with a 4xx, by error code',
      labelNames: ['errorCode'],
      registers: [registry],
    }),
    pushConnections: new Gauge({ name: 'prekeyd_push_connections', help: 'Open WebSocket push connections', registers: [registry] }),
    pushEventsSent: new Counter({ name: 'prekeyd_push_events_sent_total', help: 'Events pushed to WebSocket clients', registers: [registry] }),
    journalFlushes: new Histogram({
      name: 'prekeyd_journal_flush_seconds',
      help: 'Embedded store: time of each group commit (journal write + fsync)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    setStoreFigures(read) {
      readFigures = read;
    },
  };
}

/** The app of `--metrics-port`: /metrics only, no auth (bind it to a private interface). */
export function metricsApp(metrics: Metrics) {
  const app = new Hono();
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
  return app;
}
