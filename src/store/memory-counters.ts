/** Fixed-window counters in process memory: rate limits for a single instance. */
import type { Counters } from './types.ts';

export class MemoryCounters implements Counters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private sweptAt = 0;

  private current(key: string, windowMs: number, now: number) {
    this.sweep(now);
    const resetAt = Math.floor(now / windowMs) * windowMs + windowMs;
    let window = this.windows.get(key);
    if (!window || window.resetAt !== resetAt) {
      window = { count: 0, resetAt };
      this.windows.set(key, window);
    }
    return window;
  }

  /** Drops finished windows now and then so that memory stays bounded by the active keys. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }

  async hit(key: string, windowMs: number, now: number, cost = 1) {
    const window = this.current(key, windowMs, now);
    window.count += cost;
    return { count: window.count, resetAt: window.resetAt };
  }

  async peek(key: string, windowMs: number, now: number) {
    return this.current(key, windowMs, now).count;
  }
}
