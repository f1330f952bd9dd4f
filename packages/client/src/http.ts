/** The SDK's HTTP transport: fetch, bearer auth, prekeyd's `{success, data}` envelope, one error type. */
import { PrekeydError, type PrekeydErrorCode, type PrekeydErrorDetail } from './errors.ts';

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  baseURL: string;
  apiKey: string;
  /** Sent as `X-Project-Id`: the project the master key acts on (API keys carry their own). */
  projectId?: string;
  fetch?: FetchFunction;
  /** Extra headers for every request (e.g. a tracing id). */
  headers?: Record<string, string>;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface Envelope<T> {
  success: true;
  message?: string;
  data: T;
  pagination?: unknown;
}

export class Transport {
  readonly baseURL: string;
  readonly apiKey: string;
  readonly projectId: string | undefined;
  private readonly fetch: FetchFunction;
  private readonly headers: Record<string, string>;

  constructor(options: TransportOptions) {
    if (!options.baseURL) throw new PrekeydError('INVALID_ARGUMENT', 'baseURL is required');
    if (!options.apiKey) throw new PrekeydError('INVALID_ARGUMENT', 'apiKey is required');
    this.baseURL = options.baseURL.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.projectId = options.projectId;
    // Called as a plain function: browsers throw "Illegal invocation" when fetch gets a foreign `this`.
    const custom = options.fetch;
    this.fetch = custom ? (input, init) => custom(input, init) : (input, init) => globalThis.fetch(input, init);
    this.headers = options.headers ?? {};
  }

  url(path: string, query?: Query): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(name, String(value));
    const text = search.toString();
    return `${this.baseURL}${path}${text ? `?${text}` : ''}`;
  }

  /** A request outside the `/v1` envelope (health checks); never throws. */
  async ok(path: string): Promise<boolean> {
    try {
      return (await this.fetch(this.url(path), { method: 'GET' })).ok;
    } catch {
      return false;
    }
  }

  /** The whole envelope (for list answers that carry `pagination` beside `data`). */
  async envelope<T>(method: string, path: string, options: { body?: unknown; query?: Query } = {}): Promise<Envelope<T>> {
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json', authorization: `Bearer ${this.apiKey}` };
    if (this.projectId !== undefined) headers['x-project-id'] = this.projectId;
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetch(this.url(path, options.query), init);
    } catch (cause) {
      throw new PrekeydError('NETWORK_ERROR', `${method} ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    if (response.status === 204) return { success: true, data: undefined as T };
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) throw errorFromResponse(response, body, method, path);
    if (typeof body !== 'object' || body === null || (body as { success?: unknown }).success !== true) {
      throw new PrekeydError('INVALID_RESPONSE', `${method} ${path}: the answer is not prekeyd's JSON envelope`, { status: response.status });
    }
    return body as Envelope<T>;
  }

  /** A plain-text GET outside the envelope (a transparency log's key or checkpoint). */
  async text(path: string): Promise<string> {
    let response: Response;
    try {
      response = await this.fetch(this.url(path), { method: 'GET', headers: { ...this.headers } });
    } catch (cause) {
      throw new PrekeydError('NETWORK_ERROR', `GET ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    const body = await response.text().catch(() => '');
    if (!response.ok) throw new PrekeydError(fallbackCode(response.status), `GET ${path} answered ${response.status}`, { status: response.status });
    return body;
  }

  async request<T>(method: string, path: string, options: { body?: unknown; query?: Query } = {}): Promise<T> {
    return (await this.envelope<T>(method, path, options)).data;
  }
}

function errorFromResponse(response: Response, body: unknown, method: string, path: string): PrekeydError {
  const envelope = (typeof body === 'object' && body !== null ? body : {}) as {
    error?: unknown;
    errorCode?: unknown;
    details?: unknown;
  };
  const retryAfterHeader = Number(response.headers.get('retry-after'));
  const retryAfter = Number.isFinite(retryAfterHeader) && retryAfterHeader >= 0 && response.headers.has('retry-after') ? retryAfterHeader : undefined;
  const errorCode = typeof envelope.errorCode === 'string' ? (envelope.errorCode as PrekeydErrorCode) : fallbackCode(response.status);
  const message = typeof envelope.error === 'string' ? envelope.error : `${method} ${path} answered ${response.status}`;
  return new PrekeydError(errorCode, message, {
    status: response.status,
    ...(Array.isArray(envelope.details) && { details: envelope.details as PrekeydErrorDetail[] }),
    ...(retryAfter !== undefined && { retryAfter }),
  });
}

/** For answers without the envelope (a proxy's error page, say). */
export function fallbackCode(status: number): PrekeydErrorCode {
  const byStatus: Record<number, PrekeydErrorCode> = {
    400: 'VALIDATION_ERROR',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    409: 'CONFLICT',
    413: 'PAYLOAD_TOO_LARGE',
    429: 'RATE_LIMITED',
    503: 'UNAVAILABLE',
  };
  return byStatus[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_RESPONSE');
}
