/** HTTP load with autocannon: requests/s and latency percentiles of one scenario. */
import autocannon from 'autocannon';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

export interface LoadOptions {
  url: string;
  token?: string;
  method?: 'GET' | 'POST';
  /** Path (and body) of the n-th request. */
  next: (n: number) => { path: string; body?: string };
  connections?: number;
  durationSeconds?: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let n = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const result = await autocannon({
    url: options.url,
    connections: options.connections ?? 32,
    duration: options.durationSeconds ?? 10,
    method: options.method ?? 'GET',
    headers,
    requests: [
      {
        setupRequest: (request) => {
          const { path, body } = options.next(n++);
          return { ...request, path, ...(body !== undefined && { body }) } as typeof request;
        },
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}
