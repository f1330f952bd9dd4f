/**
 * Fixed-window counters shared by every instance on the database (rate limits, drain limits).
 * A hit is one autocommitted upsert: it runs on every limited request, so one round trip.
 */
import type { Counters } from '../types.ts';
import type { PgDriver } from './query-client.ts';

const sweepEveryMs = 60_000;

export class PgCounters implements Counters {
  private sweptAt = 0;

  constructor(private readonly driver: PgDriver) {}

  async hit(key: string, windowMs: number, now: number, cost = 1) {
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const resetAt = windowStart + windowMs;
    const { rows } = await this.driver.query<{ count: unknown }>(
      `INSERT INTO rate_counters (key, window_start, reset_at, count) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + excluded.count
       RETURNING count`,
      [key, windowStart, resetAt, cost],
    );
    this.sweep(now);
    return { count: Number(rows[0]?.count ?? cost), resetAt };
  }

  async peek(key: string, windowMs: number, now: number) {
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const { rows } = await this.driver.query<{ count: unknown }>('SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2', [key, windowStart]);
    return Number(rows[0]?.count ?? 0);
  }

  /** Now and then (not awaited): finished windows are deleted so the table stays as small as the active keys. */
  private sweep(now: number): void {
    if (now - this.sweptAt < sweepEveryMs) return;
    this.sweptAt = now;
    this.driver.query('DELETE FROM rate_counters WHERE reset_at <= $1', [now]).catch(() => undefined);
  }
}
