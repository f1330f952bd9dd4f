/** The audit log: filters, pages, and "verify chain" checked in the browser with progress. */
import { useRef, useState } from 'preact/hooks';
import { auditActions } from '../../domain/audit-actions.ts';
import type { ViewProps } from '../app.tsx';
import { type AuditEntryView, type ChainProgress, type ChainVerdict, verifyAuditChain } from '../audit-chain.ts';
import { ErrorNotice, Pager, useLoader } from '../components.tsx';
import { formatTime } from '../format.ts';

const pageSize = 25;

export function AuditView({ api, caps }: ViewProps) {
  const [filters, setFilters] = useState({ userId: '', action: '', startDate: '', endDate: '' });
  const [applied, setApplied] = useState(filters);
  const [page, setPage] = useState(1);
  const log = useLoader(() => api.get<AuditEntryView[]>('/v1/keys/audit', { ...applied, page, limit: pageSize }), [api, applied, page]);
  const set = (name: keyof typeof filters) => (event: Event) => setFilters({ ...filters, [name]: (event.currentTarget as HTMLInputElement).value });
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <ChainCheck api={api} projectId={caps.who.projectId} />
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(filters);
          setPage(1);
        }}
      >
        <label>
          User id
          <input type="text" value={filters.userId} onInput={set('userId')} />
        </label>
        <label>
          Action
          <select value={filters.action} onChange={set('action')}>
            <option value="">any</option>
            {auditActions.map((action) => (
              <option value={action}>{action}</option>
            ))}
          </select>
        </label>
        <label>
          From (date)
          <input type="date" value={filters.startDate} onInput={set('startDate')} />
        </label>
        <label>
          To (date)
          <input type="date" value={filters.endDate} onInput={set('endDate')} />
        </label>
        <button type="submit">Apply filters</button>
      </form>
      {log.error !== undefined && <ErrorNotice error={log.error} />}
      <table aria-label="Audit entries" aria-busy={log.loading}>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Action</th>
            <th scope="col">User</th>
            <th scope="col">Outcome</th>
            <th scope="col">Actor</th>
            <th scope="col">IP</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {log.value?.data.map((entry) => (
            <tr key={entry.id} data-action={entry.action}>
              <td>{entry.id}</td>
              <td class="time">{formatTime(entry.createdAt)}</td>
              <td>{entry.action}</td>
              <td>{entry.userId ?? '—'}</td>
              <td class={entry.status === 'FAILURE' ? 'failure' : ''}>{entry.status}</td>
              <td>{entry.actor}</td>
              <td>{entry.ipAddress ?? '—'}</td>
              <td>
                <code class="details">{JSON.stringify(entry.details)}</code>
              </td>
            </tr>
          ))}
          {log.value?.data.length === 0 && (
            <tr>
              <td colSpan={8}>No entries match.</td>
            </tr>
          )}
        </tbody>
      </table>
      {log.value?.pagination && <Pager {...log.value.pagination} onPage={setPage} label="Audit log" />}
    </section>
  );
}

function ChainCheck({ api, projectId }: { api: ViewProps['api']; projectId: string }) {
  const [progress, setProgress] = useState<ChainProgress>();
  const [verdict, setVerdict] = useState<ChainVerdict>();
  const [error, setError] = useState<unknown>();
  const controller = useRef<AbortController>();
  const running = controller.current !== undefined && verdict === undefined && error === undefined;
  const start = () => {
    controller.current = new AbortController();
    setVerdict(undefined);
    setError(undefined);
    setProgress({ checked: 0, total: 0 });
    verifyAuditChain(api, projectId, setProgress, controller.current.signal).then(setVerdict, setError);
  };
  // Entries written after this browser's walk may make the server's head newer; with the same count the heads must match.
  const agree =
    verdict &&
    verdict.valid === verdict.server.valid &&
    (verdict.valid ? verdict.server.entries !== verdict.checked || verdict.server.headHash === verdict.headHash : verdict.server.brokenAt === verdict.brokenAt);
  return (
    <div class="chain-check">
      <button type="button" onClick={start} disabled={running}>
        Verify chain
      </button>
      {progress && (
        <label class="progress">
          Entries checked in this browser
          <progress max={Math.max(progress.total, 1)} value={progress.checked} />
          <span>
            {progress.checked} of {progress.total}
            {progress.waitingSeconds !== undefined && running && ` (rate limited, waiting ${progress.waitingSeconds} s)`}
          </span>
        </label>
      )}
      <div role="status" aria-live="polite">
        {verdict && (
          <p class={verdict.valid && agree ? 'ok' : 'error'} data-verdict={verdict.valid ? 'valid' : 'broken'}>
            {verdict.valid
              ? `Chain intact: ${verdict.checked} entries, head ${verdict.headHash.slice(0, 16)}…`
              : `Chain broken at entry ${verdict.brokenAt}: it does not follow from the entries before it.`}{' '}
            {agree
              ? 'The server agrees.'
              : `The server says: ${verdict.server.valid ? 'intact' : `broken at ${verdict.server.brokenAt}`}, head ${verdict.server.headHash.slice(0, 16)}….`}
          </p>
        )}
      </div>
      {error !== undefined && <ErrorNotice error={error} />}
    </div>
  );
}
