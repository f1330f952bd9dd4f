/**
 * The project's key-transparency log: its latest checkpoint (origin, tree size, root hash, the
 * log's signature and witnesses' cosignatures), a consistency proof from the checkpoint seen
 * before in this tab, inclusion of a leaf by its hash, both proofs checked in the browser, and a
 * search of one user's key history (key-history.tsx).
 * Servers without the log (the routes answer 404) get a plain "not available".
 */
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api.ts';
import type { ViewProps } from '../app.tsx';
import { compareCheckpoints, type ParsedCheckpoint, parseCheckpointNote } from '../checkpoint-note.ts';
import { ErrorNotice, useLoader } from '../components.tsx';
import { KeyHistorySearch } from './key-history.tsx';
import { base64Bytes, hexBytes, verifyConsistency, verifyInclusion } from '../merkle-proofs.ts';

const seenKey = (projectId: string) => `prekeyd.console.checkpoint.${projectId}`;

type Verdict = { ok: boolean; text: string };

export function TransparencyView({ api, caps }: ViewProps) {
  const projectId = caps.who.projectId;
  const base = `/v1/transparency/${encodeURIComponent(projectId)}`;
  const [previous] = useState<ParsedCheckpoint | undefined>(() => {
    try {
      return JSON.parse(sessionStorage.getItem(seenKey(projectId)) ?? 'null') ?? undefined;
    } catch {
      return undefined;
    }
  });
  const log = useLoader(async () => {
    const [note, key] = await Promise.all([api.text(`${base}/checkpoint`), api.text(`${base}/key`).catch(() => null)]);
    if (note === null) return null;
    return { note, checkpoint: parseCheckpointNote(note), key: key?.trim() ?? null };
  }, [api, base]);
  const value = log.value;
  const comparison = value && previous ? compareCheckpoints(previous, value.checkpoint) : undefined;
  const [consistency, setConsistency] = useState<Verdict>();

  useEffect(() => {
    if (!value) return;
    const current = value.checkpoint;
    const remember = () => sessionStorage.setItem(seenKey(projectId), JSON.stringify(current));
    if (comparison !== 'grown' || !previous) return remember();
    api
      .get<{ consistencyProof: string[] }>(`${base}/proof/consistency`, { from: previous.size, to: current.size })
      .then(({ data }) =>
        verifyConsistency(previous.size, current.size, base64Bytes(previous.rootHash), base64Bytes(current.rootHash), data.consistencyProof.map(base64Bytes)),
      )
      .then((ok) => {
        setConsistency({
          ok,
          text: ok
            ? `Consistent with the checkpoint of ${previous.size} entries you saw before in this tab (proof checked in this browser).`
            : `The consistency proof from ${previous.size} to ${current.size} entries does not verify: the log rewrote history. Report this.`,
        });
        // A checkpoint that fails the proof is not remembered: the next look checks against the good one again.
        if (ok) remember();
      })
      .catch((error: unknown) => setConsistency({ ok: false, text: `No consistency proof: ${describeError(error)}` }));
  }, [value]);

  return (
    <section aria-labelledby="transparency-title" aria-busy={log.loading}>
      <h1 id="transparency-title">Transparency log</h1>
      {log.error !== undefined && <ErrorNotice error={log.error} />}
      {value === null && (
        <p class="hint" data-transparency="unavailable">
          Not available: this server publishes no transparency log for project {projectId}.
        </p>
      )}
      {value && (
        <>
          <dl class="facts" data-transparency="checkpoint">
            <dt>Origin</dt>
            <dd>{value.checkpoint.origin}</dd>
            <dt>Tree size</dt>
            <dd>{value.checkpoint.size} entries</dd>
            <dt>Root hash</dt>
            <dd>
              <code>{value.checkpoint.rootHash}</code>
            </dd>
            {value.key && (
              <>
                <dt>Log verifier key</dt>
                <dd>
                  <code>{value.key}</code>
                </dd>
              </>
            )}
          </dl>
          {(comparison === 'rollback' || comparison === 'fork') && (
            <p class="error" role="alert">
              {comparison === 'rollback'
                ? `The log shrank from ${previous!.size} to ${value.checkpoint.size} entries since you last looked: report this.`
                : 'Same size as before with a different root hash: the log forked. Report this.'}
            </p>
          )}
          {consistency && (
            <p class={consistency.ok ? 'ok' : 'error'} role={consistency.ok ? 'status' : 'alert'}>
              {consistency.text}
            </p>
          )}
          <h2>Signatures</h2>
          <table aria-label="Checkpoint signatures">
            <thead>
              <tr>
                <th scope="col">Signer</th>
                <th scope="col">Role</th>
                <th scope="col">Key ID</th>
              </tr>
            </thead>
            <tbody>
              {value.checkpoint.signatures.map((signature) => (
                <tr>
                  <td>{signature.name}</td>
                  <td>{signature.name === value.checkpoint.origin ? 'log' : 'witness'}</td>
                  <td>
                    <code>{signature.keyId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <LeafCheck api={api} base={base} checkpoint={value.checkpoint} />
          {value.key && caps.can('transparency.read') ? (
            <KeyHistorySearch api={api} base={base} verifierKey={value.key} />
          ) : (
            <p class="hint">Searching a user's key history reads the log's entries, which needs a key with transparency.read.</p>
          )}
          <details>
            <summary>The checkpoint as published</summary>
            <pre>{value.note}</pre>
          </details>
        </>
      )}
    </section>
  );
}

/** Is a leaf (by its hash, as a bundle's `transparency` or a monitor names it) in this checkpoint's tree? */
function LeafCheck(props: { api: ViewProps['api']; base: string; checkpoint: ParsedCheckpoint }) {
  const [hash, setHash] = useState('');
  const [verdict, setVerdict] = useState<Verdict>();
  const check = async (event: Event) => {
    event.preventDefault();
    setVerdict(undefined);
    const leaf = hash.trim().toLowerCase();
    const { size, rootHash } = props.checkpoint;
    try {
      const { data } = await props.api.get<{ leafIndex: number; inclusionProof: string[] }>(`${props.base}/proof/inclusion`, { hash: leaf, size });
      const ok = await verifyInclusion(data.leafIndex, size, hexBytes(leaf), data.inclusionProof.map(base64Bytes), base64Bytes(rootHash));
      setVerdict({
        ok,
        text: ok
          ? `Leaf ${data.leafIndex} of ${size}: included (proof checked in this browser).`
          : 'The inclusion proof does not verify against this checkpoint.',
      });
    } catch (error) {
      setVerdict({ ok: false, text: describeError(error) });
    }
  };
  return (
    <form class="filters" onSubmit={check}>
      <label>
        Leaf hash (64 hex digits)
        <input
          type="text"
          class="hash"
          required
          pattern="[0-9a-fA-F]{64}"
          spellcheck={false}
          value={hash}
          onInput={(event) => setHash(event.currentTarget.value)}
        />
      </label>
      <button type="submit">Check inclusion</button>
      <p role="status" aria-live="polite" class={verdict ? (verdict.ok ? 'ok' : 'error') : ''}>
        {verdict?.text}
      </p>
    </form>
  );
}
