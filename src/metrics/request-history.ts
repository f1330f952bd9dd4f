/**
 * Requests and errors per minute over the last hour, for the operator console's chart. A ring
 * of fixed size: memory stays the same however long the server runs. (Prometheus keeps the
 * history for scrapers; this is what one instance saw, without a scraper.)
 */
export interface MinuteFigures {
  /** Start of the minute, ISO instant. */
  minute: string;
  requests: number;
  /** Answers 400-499. */
  clientErrors: number;
  /** Answers 500 and above. */
  serverErrors: number;
}

const minuteMs = 60_000;

export class RequestHistory {
  private readonly minutes: Array<{ start: number; requests: number; clientErrors: number; serverErrors: number }>;

  constructor(private readonly size = 60) {
    this.minutes = Array.from({ length: size }, () => ({ start: -1, requests: 0, clientErrors: 0, serverErrors: 0 }));
  }

  record(status: number, now = Date.now()): void {
    const start = now - (now % minuteMs);
    const slot = this.minutes[Math.floor(start / minuteMs) % this.size]!;
    if (slot.start !== start) Object.assign(slot, { start, requests: 0, clientErrors: 0, serverErrors: 0 });
    slot.requests++;
    if (status >= 500) slot.serverErrors++;
    else if (status >= 400) slot.clientErrors++;
  }

  /** The last `count` minutes up to and including the current one, oldest first (empty minutes as zeros). */
  recent(count = this.size, now = Date.now()): MinuteFigures[] {
    const current = now - (now % minuteMs);
    const figures: MinuteFigures[] = [];
    for (let back = Math.min(count, this.size) - 1; back >= 0; back--) {
      const start = current - back * minuteMs;
      const slot = this.minutes[Math.floor(start / minuteMs) % this.size]!;
      const seen = slot.start === start;
      figures.push({
        minute: new Date(start).toISOString(),
        requests: seen ? slot.requests : 0,
        clientErrors: seen ? slot.clientErrors : 0,
        serverErrors: seen ? slot.serverErrors : 0,
      });
    }
    return figures;
  }
}
