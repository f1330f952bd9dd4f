/** The console's shell: sign-in, navigation between the views the key may use, sign-out. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, unauthorizedEvent } from './api.ts';
import { type CallerDescription, type Capabilities, capabilitiesOf } from './caller.ts';
import { clearSession, loadSession, saveSession, scrubKeyFromAddress } from './session.ts';
import { KeyInAddressWarning, ProjectSwitch, SignIn } from './sign-in.tsx';
import { ApiKeysView } from './views/api-keys.tsx';
import { AuditView } from './views/audit.tsx';
import { EventsView } from './views/events.tsx';
import { KeySetsView } from './views/key-sets.tsx';
import { OverviewView } from './views/overview.tsx';
import { TransparencyView } from './views/transparency.tsx';
import { UserView } from './views/user.tsx';

export interface ViewProps {
  api: Api;
  caps: Capabilities;
  /** Polite announcement for screen readers and a visible status line. */
  announce: (message: string) => void;
}

interface Route {
  name: string;
  label: string;
  allowed: (caps: Capabilities) => boolean;
}

const routes: Route[] = [
  { name: 'overview', label: 'Overview', allowed: () => true },
  { name: 'key-sets', label: 'Key sets', allowed: (caps) => caps.can('keys.read') },
  { name: 'audit', label: 'Audit log', allowed: (caps) => caps.can('audit.read') },
  { name: 'api-keys', label: 'API keys', allowed: (caps) => caps.can('apiKeys.manage') },
  { name: 'events', label: 'Live events', allowed: (caps) => caps.can('events.subscribe') },
  { name: 'transparency', label: 'Transparency', allowed: () => true },
];

function currentHash(): string {
  return location.hash.replace(/^#\/?/, '');
}

export function App() {
  const [keyInAddress] = useState(() => scrubKeyFromAddress(location, history));
  const [session, setSession] = useState<{ api: Api; caps: Capabilities }>();
  const [restoring, setRestoring] = useState(() => loadSession() !== undefined);
  const [refused, setRefused] = useState(false);

  useEffect(() => {
    const stored = loadSession();
    if (!stored) return;
    const api = new Api(stored.token, stored.projectId);
    api
      .get<CallerDescription>('/v1/whoami')
      .then(({ data }) => setSession({ api, caps: capabilitiesOf(data) }))
      .catch(() => clearSession())
      .finally(() => setRestoring(false));
  }, []);

  const signOut = () => {
    clearSession();
    setSession(undefined);
    location.hash = '';
  };
  useEffect(() => {
    const onRefused = () => {
      if (!loadSession()) return; // signing in: the form shows the error itself
      setRefused(true);
      signOut();
    };
    addEventListener(unauthorizedEvent, onRefused);
    return () => removeEventListener(unauthorizedEvent, onRefused);
  }, []);

  if (restoring) return <p class="loading">Restoring your session…</p>;
  if (!session) {
    return (
      <SignIn
        keyInAddress={keyInAddress}
        refused={refused}
        onSignedIn={(api, who) => {
          setRefused(false);
          saveSession({ token: api.token, projectId: who.projectId });
          setSession({ api: new Api(api.token, who.projectId), caps: capabilitiesOf(who) });
        }}
      />
    );
  }
  return (
    <Shell
      api={session.api}
      caps={session.caps}
      onSignOut={signOut}
      keyInAddress={keyInAddress}
      onProject={(api, who) => {
        saveSession({ token: api.token, projectId: who.projectId });
        setSession({ api, caps: capabilitiesOf(who) });
      }}
    />
  );
}

function Shell(props: { api: Api; caps: Capabilities; onSignOut: () => void; keyInAddress: boolean; onProject: (api: Api, who: CallerDescription) => void }) {
  const { api, caps } = props;
  const allowed = useMemo(() => routes.filter((route) => route.allowed(caps)), [caps]);
  const [hash, setHash] = useState(currentHash);
  const [announcement, setAnnouncement] = useState('');
  useEffect(() => {
    const onHash = () => setHash(currentHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const [name, ...rest] = hash.split('/');
  const route = allowed.find((candidate) => candidate.name === name) ?? allowed[0]!;
  useEffect(() => {
    document.title = `${route.label} · prekeyd console`;
    setAnnouncement(''); // an announcement belongs to the view it was made in
  }, [hash]);
  const view: ViewProps = { api, caps, announce: setAnnouncement };
  const who = caps.who;
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">prekeyd</span>
        <nav aria-label="Views">
          <ul>
            {allowed.map((candidate) => (
              <li key={candidate.name}>
                <a href={`#/${candidate.name}`} aria-current={candidate === route ? 'page' : undefined}>
                  {candidate.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who" title={who.acl.join(', ')}>
          {who.kind === 'master' ? 'master key' : `${who.description ?? who.uid} · project `}
          {who.kind !== 'master' && <strong>{who.projectId}</strong>}
        </span>
        {who.kind === 'master' && <ProjectSwitch api={api} onProject={props.onProject} />}
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      {props.keyInAddress && <KeyInAddressWarning />}
      <main id="main" tabIndex={-1}>
        <p class="announce" role="status" aria-live="polite">
          {announcement}
        </p>
        {route.name === 'overview' && <OverviewView {...view} />}
        {route.name === 'key-sets' && (rest.length > 0 ? <UserView {...view} userId={decodeURIComponent(rest.join('/'))} /> : <KeySetsView {...view} />)}
        {route.name === 'audit' && <AuditView {...view} />}
        {route.name === 'api-keys' && <ApiKeysView {...view} />}
        {route.name === 'events' && <EventsView {...view} />}
        {route.name === 'transparency' && <TransparencyView {...view} />}
      </main>
    </>
  );
}
