/** Key sets: the project's devices, filtered by status and user id prefix, sorted, paged. */
import { useState } from 'preact/hooks';
import type { ViewProps } from '../app.tsx';
import { ConfirmDialog, type ConfirmRequest, ErrorNotice, Pager, PreKeyLevel, StatusBadge, useLoader } from '../components.tsx';
import { formatTime } from '../format.ts';
import { confirmKeyAction, keyActionLabels, keyActionsFor } from '../key-actions.ts';

export interface KeySetSummary {
  userId: string;
  deviceId: string;
  identityKeyFingerprint: string;
  status: string;
  oneTimePreKeysRemaining: number;
  registeredAt: string;
  lastRotatedAt: string | null;
  deviceName: string | null;
}

const sortFields = { createdAt: 'Registered', lastRotatedAt: 'Last rotated', userId: 'User id', oneTimePreKeysRemaining: 'Pre-keys left' } as const;
const pageSize = 20;

export function KeySetsView({ api, caps, announce }: ViewProps) {
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [sortBy, setSortBy] = useState<keyof typeof sortFields>('createdAt');
  const [sortOrder, setSortOrder] = useState<'asc' | 'desc'>('desc');
  const [page, setPage] = useState(1);
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  const list = useLoader(
    () => api.get<KeySetSummary[]>('/v1/keys/list', { status, userIdPrefix: applied, sortBy, sortOrder, page, limit: pageSize }),
    [api, status, applied, sortBy, sortOrder, page],
  );
  const threshold = caps.who.limits.preKeyLowThreshold;
  const rows = list.value?.data ?? [];
  const scale = Math.max(0, ...rows.map((row) => row.oneTimePreKeysRemaining));
  const change =
    <T,>(set: (value: T) => void) =>
    (value: T) => (set(value), setPage(1));

  return (
    <section aria-labelledby="key-sets-title">
      <h1 id="key-sets-title">Key sets</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          change(setApplied)(search.trim());
        }}
      >
        <label>
          Status
          <select value={status} onChange={(event) => change(setStatus)(event.currentTarget.value)}>
            <option value="">any</option>
            {['active', 'suspended', 'expired', 'revoked'].map((value) => (
              <option value={value}>{value}</option>
            ))}
          </select>
        </label>
        <label>
          User id starts with
          <input type="search" value={search} pattern="[A-Za-z0-9._:@+\-]{1,128}" onInput={(event) => setSearch(event.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
        <label>
          Sort by
          <select value={sortBy} onChange={(event) => change(setSortBy)(event.currentTarget.value as keyof typeof sortFields)}>
            {Object.entries(sortFields).map(([value, label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select value={sortOrder} onChange={(event) => change(setSortOrder)(event.currentTarget.value as 'asc' | 'desc')}>
            <option value="desc">descending</option>
            <option value="asc">ascending</option>
          </select>
        </label>
      </form>
      {list.error !== undefined && <ErrorNotice error={list.error} />}
      <table aria-busy={list.loading} aria-label="Key sets">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Device</th>
            <th scope="col">Status</th>
            <th scope="col">One-time pre-keys</th>
            <th scope="col">Registered</th>
            <th scope="col">Last rotated</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.userId}/${row.deviceId}/${row.registeredAt}`} data-user={row.userId}>
              <td>
                <a href={`#/key-sets/${encodeURIComponent(row.userId)}`}>{row.userId}</a>
              </td>
              <td>
                {row.deviceId}
                {row.deviceName && <span class="muted"> ({row.deviceName})</span>}
              </td>
              <td>
                <StatusBadge status={row.status} />
              </td>
              <td>
                <PreKeyLevel
                  remaining={row.oneTimePreKeysRemaining}
                  threshold={threshold}
                  scale={scale}
                  label={`One-time pre-keys of ${row.userId} ${row.deviceId}`}
                />
              </td>
              <td class="time">{formatTime(row.registeredAt)}</td>
              <td class="time">{formatTime(row.lastRotatedAt)}</td>
              <td>
                <div class="row-actions">
                  {keyActionsFor(caps, row).map((action) => (
                    <button type="button" class={action === 'revoke' ? 'danger' : ''} onClick={() => setConfirm(confirmKeyAction(api, action, row))}>
                      {keyActionLabels[action]}
                      <span class="visually-hidden">
                        {' '}
                        {row.userId} {row.deviceId}
                      </span>
                    </button>
                  ))}
                </div>
              </td>
            </tr>
          ))}
          {!list.loading && rows.length === 0 && (
            <tr>
              <td colSpan={7}>No key sets match.</td>
            </tr>
          )}
        </tbody>
      </table>
      {list.value?.pagination && <Pager {...list.value.pagination} onPage={setPage} label="Key sets" />}
      {confirm && (
        <ConfirmDialog
          request={confirm}
          onDone={(outcome) => {
            if (outcome === 'done') {
              announce(`${confirm.confirmLabel}: done.`);
              list.reload();
            }
            setConfirm(undefined);
          }}
        />
      )}
    </section>
  );
}
