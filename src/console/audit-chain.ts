/**
 * Verifies a project's audit hash chain in the browser, page by page with progress: each entry
 * must name the previous entry's hash and hash to its own (the canonical form of
 * src/domain/audit.ts `auditEntryHash`, recomputed here with WebCrypto; a test keeps the two
 * equal). The server's own verdict (GET /v1/keys/audit/verify) is fetched too, so a console
 * that disagrees with the server says so.
 */
import { type Api, ApiError } from './api.ts';

export interface AuditEntryView {
  id: number;
  action: string;
  resource: string;
  userId: string | null;
  details: Record<string, unknown>;
  ipAddress: string | null;
  actor: string;
  status: 'SUCCESS' | 'FAILURE';
  createdAt: string;
  prevHash: string;
  hash: string;
}

export const genesisHash = '0'.repeat(64);

export async function auditEntryHash(entry: Omit<AuditEntryView, 'id' | 'hash'>, projectId: string): Promise<string> {
  const canonical = JSON.stringify([
    entry.prevHash,
    projectId,
    entry.action,
    entry.resource,
    entry.userId,
    entry.details,
    entry.ipAddress,
    entry.actor,
    entry.status,
    entry.createdAt,
  ]);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

export interface ChainProgress {
  checked: number;
  total: number;
  waitingSeconds?: number;
}

export interface ChainVerdict {
  valid: boolean;
  checked: number;
  headHash: string;
  brokenAt?: number;
  server: { valid: boolean; entries: number; headHash: string; brokenAt?: number };
}

const pageSize = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `call`, waiting out 429s (API keys are rate limited on /v1/keys/*). */
async function patiently<T>(call: () => Promise<T>, onWait: (seconds: number) => void, signal: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 429 || signal.aborted) throw error;
      const seconds = error.retryAfterSeconds ?? 5;
      onWait(seconds);
      await sleep(seconds * 1000);
    }
  }
}

/**
 * The list is newest first; walking from its last page back to the first reads entries oldest
 * first. Entries written meanwhile shift the pages: an entry already checked may come again
 * (skipped by id), none is skipped.
 */
export async function verifyAuditChain(api: Api, projectId: string, onProgress: (progress: ChainProgress) => void, signal: AbortSignal): Promise<ChainVerdict> {
  const page = (number: number) =>
    patiently(
      () => api.get<AuditEntryView[]>('/v1/keys/audit', { page: number, limit: pageSize }),
      (seconds) => onProgress({ checked, total, waitingSeconds: seconds }),
      signal,
    );
  let checked = 0;
  const first = await page(1);
  let total = first.pagination?.total ?? 0;
  let prevHash = genesisHash;
  let lastId = 0;
  let brokenAt: number | undefined;
  for (let number = Math.max(1, Math.ceil(total / pageSize)); number >= 1 && brokenAt === undefined; number--) {
    if (signal.aborted) throw new DOMException('Verification stopped', 'AbortError');
    const answer = number === 1 && total <= pageSize ? first : await page(number);
    total = Math.max(total, answer.pagination?.total ?? 0);
    for (const entry of [...answer.data].reverse()) {
      if (entry.id <= lastId) continue;
      if (entry.prevHash !== prevHash || (await auditEntryHash(entry, projectId)) !== entry.hash) {
        brokenAt = entry.id;
        break;
      }
      prevHash = entry.hash;
      lastId = entry.id;
      checked++;
    }
    onProgress({ checked, total });
  }
  const server = (
    await patiently(
      () => api.get<ChainVerdict['server']>('/v1/keys/audit/verify'),
      () => undefined,
      signal,
    )
  ).data;
  return { valid: brokenAt === undefined, checked, headHash: prevHash, brokenAt, server };
}
