/**
 * API keys of the project: list and search, create (the secret shown once, with a copy button),
 * edit description, ACL and user patterns, revoke and restore. Only the actions the signed-in
 * key holds itself are offered: the server refuses granting anything else.
 */
import { useState } from 'preact/hooks';
import { actions, type Action } from '../../domain/principal.ts';
import type { ViewProps } from '../app.tsx';
import { ConfirmDialog, type ConfirmRequest, ErrorNotice, Modal, Pager, useLoader } from '../components.tsx';
import { describeError } from '../api.ts';
import { formatTime } from '../format.ts';

interface ApiKeyView {
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

interface Draft {
  description: string;
  acl: string[];
  userIds: string;
  expiresAt: string;
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

function KeyEditor(props: {
  existing?: ApiKeyView;
  grantable: readonly string[];
  defaultPatterns: string;
  onCancel: () => void;
  onSave: (draft: Draft) => Promise<void>;
}) {
  const { existing } = props;
  const [draft, setDraft] = useState<Draft>({
    description: existing?.description ?? '',
    acl: existing?.acl ?? [],
    userIds: existing ? existing.userIds.join('\n') : props.defaultPatterns,
    expiresAt: '',
  });
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const toggle = (action: string, on: boolean) => setDraft({ ...draft, acl: on ? [...draft.acl, action] : draft.acl.filter((held) => held !== action) });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (draft.acl.length === 0) return setError('Choose at least one action.');
    setBusy(true);
    setError(undefined);
    try {
      await props.onSave(draft);
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return (
    <Modal title={existing ? `Edit ${existing.description ?? existing.uid}` : 'Create an API key'} onClose={props.onCancel} labelId="editor-title">
      <form onSubmit={submit}>
        <label>
          Description
          <input type="text" maxLength={500} value={draft.description} onInput={(event) => setDraft({ ...draft, description: event.currentTarget.value })} />
        </label>
        <fieldset>
          <legend>Actions allowed</legend>
          <div class="checkboxes">
            {props.grantable.map((action) => (
              <label class="checkbox">
                <input type="checkbox" name="acl" value={action} checked={draft.acl.includes(action)} onChange={(event) => toggle(action, event.currentTarget.checked)} />
                {action === '*' ? '* (every action)' : action}
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          Users the key may act as (patterns, * wildcards, one a line)
          <textarea rows={3} required value={draft.userIds} onInput={(event) => setDraft({ ...draft, userIds: event.currentTarget.value })} />
        </label>
        {!existing && (
          <label>
            Expires (optional, cannot be changed later)
            <input type="datetime-local" value={draft.expiresAt} onInput={(event) => setDraft({ ...draft, expiresAt: event.currentTarget.value })} />
          </label>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={props.onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {existing ? 'Save' : 'Create key'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** The new key's secret, shown this once: the server keeps only its hash. */
function ShowOnce(props: { secret: string; onClose: () => void }) {
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      const field = document.getElementById('new-key-secret') as HTMLInputElement | null;
      field?.select();
      setCopied('Selected: press Ctrl+C (⌘C) to copy.');
    }
  };
  return (
    <Modal title="Store this key now" onClose={props.onClose} labelId="secret-title">
      <p>This is the only time the key is shown: prekeyd stores only its hash. Copy it into your secret store before closing.</p>
      <label>
        New API key
        <input id="new-key-secret" type="text" readOnly value={props.secret} spellcheck={false} onFocus={(event) => event.currentTarget.select()} />
      </label>
      <p role="status" aria-live="polite">
        {copied}
      </p>
      <div class="actions">
        <button type="button" class="primary" onClick={copy}>
          Copy key
        </button>
        <button type="button" onClick={props.onClose}>
          I have stored it
        </button>
      </div>
    </Modal>
  );
}
