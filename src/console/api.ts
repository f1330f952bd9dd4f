/** The console's one way to call prekeyd: the signed-in key as a Bearer header, errors as ApiError. */
import type { Pagination } from '../domain/pagination.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Fired on window when the server refuses the signed-in key. */
export const unauthorizedEvent = 'prekeyd:unauthorized';

export interface ApiAnswer<T> {
  data: T;
  message?: string;
  pagination?: Pagination;
}

export class Api {
  constructor(
    readonly token: string,
    /** Sent as X-Project-Id: the master key's project (ignored for API keys). */
    readonly projectId: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, 'x-project-id': this.projectId, ...extra };
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const init: RequestInit = { method, headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }), cache: 'no-store' };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(path, init);
    if (response.status === 204) return { data: undefined as T };
    const parsed = (await response.json().catch(() => undefined)) as
      | { success: boolean; data?: T; message?: string; pagination?: Pagination; error?: string; errorCode?: string }
      | undefined;
    if (!response.ok || !parsed?.success) {
      // A key revoked or expired while signed in: the shell signs out (see app.tsx).
      if (response.status === 401) dispatchEvent(new CustomEvent(unauthorizedEvent));
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new ApiError(response.status, parsed?.errorCode ?? 'HTTP_ERROR', parsed?.error ?? `HTTP ${response.status}`, retryAfter || undefined);
    }
    return { data: parsed.data as T, message: parsed.message, pagination: parsed.pagination };
  }

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<ApiAnswer<T>> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(name, String(value));
    const text = search.toString();
    return this.call<T>('GET', text ? `${path}?${text}` : path);
  }

  /** A binary resource (a transparency tile); an error answer becomes an ApiError as for JSON calls. */
  async bytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await fetch(path, { headers: this.headers(), cache: 'no-store', signal });
    if (!response.ok) {
      const parsed = (await response.json().catch(() => undefined)) as { error?: string; errorCode?: string } | undefined;
      throw new ApiError(response.status, parsed?.errorCode ?? 'HTTP_ERROR', parsed?.error ?? `HTTP ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /** A plain-text resource (a transparency checkpoint); null on 404. */
  async text(path: string): Promise<string | null> {
    const response = await fetch(path, { headers: this.headers(), cache: 'no-store' });
    if (response.status === 404) return null;
    if (!response.ok) throw new ApiError(response.status, 'HTTP_ERROR', `HTTP ${response.status}`);
    return response.text();
  }
}

/** A person-readable line for an error shown in the page. */
export const describeError = (error: unknown): string =>
  error instanceof ApiError ? `${error.message} (${error.errorCode})` : error instanceof Error ? error.message : String(error);
