/**
 * API keys of the project: list and search, create (the secret shown once, with a copy button),
 * edit description, ACL and user patterns, revoke and restore. Only the actions the signed-in
 * key holds itself are offered: the server refuses granting anything else.
 */
import { useState } from 'preact/hooks';
import { actions, type Action } from '../../domain/principal.ts';
import type { ViewProps } from '../app.tsx';
import { ConfirmDialog, type ConfirmRequest, ErrorNotice, Pager, useLoader } from '../components.tsx';
import { KeyEditor, ShowOnce } from './api-key-dialogs.tsx';
import { formatTime } from '../format.ts';

export interface ApiKeyView {
  uid: string;
  prefix: string;
  projectId: string;
  description: string | null;
  acl: string[];
  userIds: string[];
  expiresAt: string | null;
  revoked: boolean;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

const patternsOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((pattern) => pattern.trim())
    .filter(Boolean);

export function ApiKeysView({ api, caps, announce }: ViewProps) {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<ApiKeyView | 'new'>();
  const [created, setCreated] = useState<{ key: string; uid: string }>();
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  const projectId = caps.who.projectId;
  const list = useLoader(() => api.get<ApiKeyView[]>('/v1/api-keys', { projectId, search: applied, page, limit: 25 }), [api, applied, page]);
  const grantable = actions.filter((action) => caps.can(action as Action));
  // The server lets a key change only keys it could have created: every action held, every pattern covered (as text).
  const manageable = (key: ApiKeyView) => key.acl.every((action) => caps.can(action as Action)) && key.userIds.every((pattern) => caps.mayActAs(pattern));

  const revoke = (key: ApiKeyView, revoked: boolean): ConfirmRequest => ({
    title: `${revoked ? 'Revoke' : 'Restore'} ${key.description ?? key.uid}?`,
    message: revoked ? 'The key is refused from its very next request, open push connections included.' : 'The key works again.',
    confirmLabel: revoked ? 'Revoke key' : 'Restore key',
    danger: revoked,
    run: async () => {
      await api.call('PATCH', `/v1/api-keys/${encodeURIComponent(key.uid)}`, { revoked });
    },
  });

  return (
    <section aria-labelledby="api-keys-title">
      <h1 id="api-keys-title">API keys</h1>
      <div class="toolbar">
        <form
          role="search"
          class="filters"
          onSubmit={(event) => {
            event.preventDefault();
            setApplied(search.trim());
            setPage(1);
          }}
        >
          <label>
            Search
            <input type="search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
          </label>
          <button type="submit">Search</button>
        </form>
        <button type="button" class="primary" onClick={() => setEditing('new')}>
          Create API key
        </button>
      </div>
      {list.error !== undefined && <ErrorNotice error={list.error} />}
      <table aria-label="API keys" aria-busy={list.loading}>
        <thead>
          <tr>
            <th scope="col">Description</th>
            <th scope="col">Key</th>
            <th scope="col">Actions allowed</th>
            <th scope="col">Users</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Manage</th>
          </tr>
        </thead>
        <tbody>
          {list.value?.data.map((key) => (
            <tr key={key.uid} data-uid={key.uid}>
              <td>{key.description ?? <span class="muted">none</span>}</td>
              <td>
                <code>{key.prefix}…</code>
                <div class="muted">{key.uid}</div>
              </td>
              <td>{key.acl.join(', ')}</td>
              <td>{key.userIds.join(', ')}</td>
              <td>{key.expiresAt ? formatTime(key.expiresAt) : 'never'}</td>
              <td>{formatTime(key.lastUsedAt)}</td>
              <td>{key.revoked ? <span class="badge status-revoked">revoked</span> : <span class="badge status-active">active</span>}</td>
              <td>
                <div class="row-actions">
                  {key.uid !== caps.who.uid && manageable(key) && (
                    <>
                      <button type="button" onClick={() => setEditing(key)}>
                        Edit<span class="visually-hidden"> {key.description ?? key.uid}</span>
                      </button>
                      <button type="button" class={key.revoked ? '' : 'danger'} onClick={() => setConfirm(revoke(key, !key.revoked))}>
                        {key.revoked ? 'Restore' : 'Revoke'}
                        <span class="visually-hidden"> {key.description ?? key.uid}</span>
                      </button>
                    </>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.value?.pagination && <Pager {...list.value.pagination} onPage={setPage} label="API keys" />}
      {editing && (
        <KeyEditor
          existing={editing === 'new' ? undefined : editing}
          grantable={grantable}
          defaultPatterns={caps.who.userIds.join('\n')}
          onCancel={() => setEditing(undefined)}
          onSave={async (draft) => {
            const body = { description: draft.description.trim() || null, acl: draft.acl, userIds: patternsOf(draft.userIds) };
            if (editing === 'new') {
              const expiresAt = draft.expiresAt ? new Date(draft.expiresAt).toISOString() : undefined;
              const { data } = await api.call<ApiKeyView & { key: string }>('POST', '/v1/api-keys', { projectId, ...body, ...(expiresAt && { expiresAt }) });
              setCreated({ key: data.key, uid: data.uid });
            } else {
              await api.call('PATCH', `/v1/api-keys/${encodeURIComponent(editing.uid)}`, body);
              announce(`Saved ${editing.description ?? editing.uid}.`);
            }
            setEditing(undefined);
            list.reload();
          }}
        />
      )}
      {created && <ShowOnce secret={created.key} onClose={() => setCreated(undefined)} />}
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
