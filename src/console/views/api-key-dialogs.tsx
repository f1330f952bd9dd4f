/** The API key dialogs: create or edit (description, ACL, user patterns, expiry), and the new secret shown once. */
import { useState } from 'preact/hooks';
import { describeError } from '../api.ts';
import { Modal } from '../components.tsx';
import type { ApiKeyView } from './api-keys.tsx';

export interface Draft {
  description: string;
  acl: string[];
  userIds: string;
  expiresAt: string;
}

export function KeyEditor(props: {
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
                <input
                  type="checkbox"
                  name="acl"
                  value={action}
                  checked={draft.acl.includes(action)}
                  onChange={(event) => toggle(action, event.currentTarget.checked)}
                />
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
export function ShowOnce(props: { secret: string; onClose: () => void }) {
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
