/**
 * A user's key history from the transparency log, found in the browser the way `prekeyd
 * transparency monitor` finds it (the same code, src/transparency/monitor.ts): every hash tile
 * and entry bundle up to the newest checkpoint is read, each entry checked against its tile
 * hash and the tree rebuilt from them. The history is complete for that checkpoint only if the
 * rebuilt root is the signed one, so a server cannot leave a key change out of this list
 * without publishing a checkpoint that no longer matches its own tiles.
 */
import { useRef, useState } from 'preact/hooks';
import type { KeySetLeaf } from '../../../packages/client/src/transparency/leaf.ts';
import { parseVerifierKey } from '../../../packages/client/src/transparency/note.ts';
import { monitorStep } from '../../transparency/monitor.ts';
import type { ViewProps } from '../app.tsx';
import { ErrorNotice } from '../components.tsx';

interface HistoryRow {
  index: number;
  leaf: KeySetLeaf;
  /** The device published another identity key before this entry. */
  identityChanged: boolean;
}

interface History {
  userId: string;
  treeSize: number;
  rows: HistoryRow[];
}

const eventLabels: Record<KeySetLeaf['event'], string> = {
  'key-set.registered': 'registered',
  'key-set.rotated': 'rotated',
  'key-set.revoked': 'revoked',
};

const short = (hash: string) => `${hash.slice(0, 16)}…`;

function historyRows(changes: Array<{ index: number; leaf: KeySetLeaf }>): HistoryRow[] {
  const identityOf = new Map<string, string>();
  return changes.map(({ index, leaf }) => {
    const previous = identityOf.get(leaf.deviceId);
    identityOf.set(leaf.deviceId, leaf.identityKey);
    return { index, leaf, identityChanged: previous !== undefined && previous !== leaf.identityKey };
  });
}

export function KeyHistorySearch(props: { api: ViewProps['api']; base: string; verifierKey: string }) {
  const [userId, setUserId] = useState('');
  const [progress, setProgress] = useState<{ read: number; total: number }>();
  const [history, setHistory] = useState<History>();
  const [error, setError] = useState<unknown>();
  const controller = useRef<AbortController>();
  const running = progress !== undefined && history === undefined && error === undefined;

  const search = (event: Event) => {
    event.preventDefault();
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    const user = userId.trim();
    setHistory(undefined);
    setError(undefined);
    setProgress({ read: 0, total: 0 });
    const fetcher = (path: string) => props.api.bytes(`${props.base}/${path}`, abort.signal);
    const report = (read: number, total: number) => {
      if (!abort.signal.aborted) setProgress({ read, total });
    };
    Promise.resolve()
      .then(() => monitorStep(fetcher, [parseVerifierKey(props.verifierKey)], undefined, [user], report))
      .then((step) => {
        if (abort.signal.aborted) return;
        const changes = step.changes.filter((change): change is { index: number; leaf: KeySetLeaf } => change.leaf.event !== 'anchor');
        setHistory({ userId: user, treeSize: step.checkpoint.size, rows: historyRows(changes) });
      })
      .catch((failure: unknown) => {
        if (!abort.signal.aborted) setError(failure);
      });
  };
  const stop = () => {
    controller.current?.abort();
    setProgress(undefined);
  };

  return (
    <section aria-labelledby="key-history-title">
      <h2 id="key-history-title">Search a user's key history</h2>
      <form class="filters" onSubmit={search}>
        <label>
          User ID
          <input type="text" required maxLength={256} spellcheck={false} value={userId} onInput={(event) => setUserId(event.currentTarget.value)} />
        </label>
        <button type="submit" disabled={running}>
          Search the log
        </button>
        {running && (
          <button type="button" onClick={stop}>
            Stop
          </button>
        )}
      </form>
      {progress && (
        <label class="progress">
          Log entries read and checked in this browser
          <progress max={Math.max(progress.total, 1)} value={progress.read} />
          <span>
            {progress.read} of {progress.total}
          </span>
        </label>
      )}
      <div role="status" aria-live="polite">
        {history && (
          <p class="ok" data-key-history="verdict">
            {history.rows.length} of the {history.treeSize} entries are {history.userId}'s. The tree rebuilt from all {history.treeSize} entries has the signed
            checkpoint's root, so no key publication of {history.userId} is missing from this list.
          </p>
        )}
      </div>
      {error !== undefined && <ErrorNotice error={error} />}
      {history && history.rows.length > 0 && (
        <table aria-label={`Key history of ${history.userId}`}>
          <thead>
            <tr>
              <th scope="col">Entry</th>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Device</th>
              <th scope="col">Identity key (SHA-256)</th>
              <th scope="col">Signed pre-key</th>
            </tr>
          </thead>
          <tbody>
            {history.rows.map(({ index, leaf, identityChanged }) => (
              <tr key={index} class={identityChanged ? 'identity-changed' : undefined}>
                <td>{index}</td>
                <td>{leaf.time}</td>
                <td>{eventLabels[leaf.event]}</td>
                <td>{leaf.deviceId}</td>
                <td>
                  <code title={leaf.identityKey}>{short(leaf.identityKey)}</code>
                  {identityChanged && <strong> new identity key</strong>}
                </td>
                <td>
                  {leaf.signedPreKey.keyId} <code title={leaf.signedPreKey.hash}>{short(leaf.signedPreKey.hash)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
