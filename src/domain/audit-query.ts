/** Reading the audit log of the caller's project: filters, newest first, paginated. */
import type { AuditEntry } from '../store/types.ts';
import type { AuditAction } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { offsetOf, type PageRequest, paginate } from './pagination.ts';
import type { Caller } from './principal.ts';

export interface AuditQueryInput extends PageRequest {
  userId?: string;
  action?: AuditAction;
  /** ISO instant or date; a date starts at 00:00 UTC. */
  startDate?: string;
  /** ISO instant or date; a date covers that whole day (UTC). */
  endDate?: string;
}

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;

/** Stored `createdAt` values are `toISOString()` text, so bounds in the same form compare correctly. */
function instant(value: string, endOfDay: boolean, field: string): string {
  const date = new Date(dateOnly.test(value) && endOfDay ? `${value}T23:59:59.999Z` : value);
  if (Number.isNaN(date.getTime())) throw new AppError('VALIDATION_ERROR', `${field} is not a date`, [{ field, message: 'not a date' }]);
  return date.toISOString();
}

function entryView(entry: AuditEntry) {
  return {
    id: entry.id,
    action: entry.action,
    resource: entry.resource,
    userId: entry.userId,
    details: entry.details,
    ipAddress: entry.ipAddress,
    actor: entry.actor,
    status: entry.status,
    createdAt: entry.createdAt,
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}

export async function queryAudit(deps: Deps, caller: Caller, input: AuditQueryInput) {
  const startDate = input.startDate === undefined ? undefined : instant(input.startDate, false, 'startDate');
  const endDate = input.endDate === undefined ? undefined : instant(input.endDate, true, 'endDate');
  if (startDate !== undefined && endDate !== undefined && startDate > endDate) {
    throw new AppError('VALIDATION_ERROR', 'startDate must not be after endDate', [{ field: 'startDate', message: 'must not be after endDate' }]);
  }
  const { items, total } = await deps.store.transaction((tx) =>
    tx.audit.query({
      projectId: caller.projectId,
      userId: input.userId,
      action: input.action,
      startDate,
      endDate,
      offset: offsetOf(input),
      limit: input.limit,
    }),
  );
  return { data: items.map(entryView), pagination: paginate(input, total) };
}
