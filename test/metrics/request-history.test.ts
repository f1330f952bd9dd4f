/** Requests and errors per minute: a fixed ring of minutes, empty minutes as zeros, old ones forgotten. */
import { expect, it } from 'vitest';
import { RequestHistory } from '../../src/metrics/request-history.ts';

const minute = 60_000;
const start = Date.parse('2026-03-08T10:00:00.000Z');

it('counts requests, 4xx and 5xx per minute and reports the last minutes oldest first', () => {
  const history = new RequestHistory(5);
  history.record(200, start + 1_000);
  history.record(404, start + 2_000);
  history.record(503, start + minute + 10);
  history.record(200, start + 3 * minute);
  expect(history.recent(4, start + 3 * minute + 5)).toEqual([
    { minute: '2026-03-08T10:00:00.000Z', requests: 2, clientErrors: 1, serverErrors: 0 },
    { minute: '2026-03-08T10:01:00.000Z', requests: 1, clientErrors: 0, serverErrors: 1 },
    { minute: '2026-03-08T10:02:00.000Z', requests: 0, clientErrors: 0, serverErrors: 0 },
    { minute: '2026-03-08T10:03:00.000Z', requests: 1, clientErrors: 0, serverErrors: 0 },
  ]);
});

it('forgets minutes older than its size, even when their slot is reused', () => {
  const history = new RequestHistory(3);
  history.record(200, start);
  history.record(200, start + 3 * minute); // same slot as `start`, three minutes on
  const recent = history.recent(10, start + 3 * minute);
  expect(recent).toHaveLength(3);
  expect(recent.map((figures) => figures.requests)).toEqual([0, 0, 1]);
  expect(history.recent(3, start + 10 * minute).every((figures) => figures.requests === 0)).toBe(true);
});
