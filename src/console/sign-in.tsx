/** Signing in: the key form, the warning about a key found in the address, and the master key's project switch. */
import { useState } from 'preact/hooks';
import { Api, describeError } from './api.ts';
import type { CallerDescription } from './caller.ts';

export function KeyInAddressWarning() {
  return (
    <div class="warning" role="alert">
      <strong>A key was in this page's address.</strong> It was not used and has been removed from the address bar, but addresses end up in browser history,
      proxy and server logs: treat that key as exposed, revoke it and create a new one. Sign in by pasting a key into the form instead; the console keeps it in
      this tab's session storage only.
    </div>
  );
}

export function SignIn(props: { keyInAddress: boolean; refused: boolean; onSignedIn: (api: Api, who: CallerDescription) => void }) {
  const [token, setToken] = useState('');
  const [projectId, setProjectId] = useState('default');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const api = new Api(token.trim(), projectId.trim() || 'default');
    try {
      const { data } = await api.get<CallerDescription>('/v1/whoami');
      props.onSignedIn(api, data);
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <h1>prekeyd console</h1>
      {props.keyInAddress && <KeyInAddressWarning />}
      {props.refused && (
        <p class="error" role="alert">
          The server no longer accepts the key you signed in with (revoked or expired). Sign in again.
        </p>
      )}
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <label>
          Master key or API key
          <input type="password" required autocomplete="off" spellcheck={false} value={token} onInput={(event) => setToken(event.currentTarget.value)} />
        </label>
        <label>
          Project (master key only)
          <input type="text" pattern="[A-Za-z0-9_\-]{1,64}" value={projectId} onInput={(event) => setProjectId(event.currentTarget.value)} />
        </label>
        <p id="sign-in-help" class="hint">
          The key stays in this tab's session storage and is sent only to this server. An API key works in its own project and the console offers only what its
          ACL allows.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

/** The master key acts on any project (X-Project-Id): switching asks the server again, so a bad id is refused. */
export function ProjectSwitch(props: { api: Api; onProject: (api: Api, who: CallerDescription) => void }) {
  const [projectId, setProjectId] = useState(props.api.projectId);
  const [error, setError] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const api = new Api(props.api.token, projectId.trim());
    try {
      props.onProject(api, (await api.get<CallerDescription>('/v1/whoami')).data);
      setError(undefined);
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <form class="project-switch" onSubmit={submit}>
      <label>
        Project
        <input type="text" required pattern="[A-Za-z0-9_\-]{1,64}" size={12} value={projectId} onInput={(event) => setProjectId(event.currentTarget.value)} />
      </label>
      <button type="submit">Switch</button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
