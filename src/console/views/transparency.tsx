/**
 * The project's key-transparency log: its latest checkpoint (origin, tree size, root hash, the
 * log's signature and witnesses' cosignatures). Servers without the log (the routes answer 404)
 * get a plain "not available".
 */
import { useState } from 'preact/hooks';
import type { ViewProps } from '../app.tsx';
import { compareCheckpoints, type ParsedCheckpoint, parseCheckpointNote } from '../checkpoint-note.ts';
import { ErrorNotice, useLoader } from '../components.tsx';

const seenKey = (projectId: string) => `prekeyd.console.checkpoint.${projectId}`;

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
    const checkpoint = parseCheckpointNote(note);
    sessionStorage.setItem(seenKey(projectId), JSON.stringify(checkpoint));
    return { note, checkpoint, key: key?.trim() ?? null };
  }, [api, base]);
  const value = log.value;
  const comparison = value && previous ? compareCheckpoints(previous, value.checkpoint) : undefined;
  return (
    <section aria-labelledby="transparency-title">
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
          {comparison && comparison !== 'same' && (
            <p class={comparison === 'grown' ? 'ok' : 'error'} role={comparison === 'grown' ? 'status' : 'alert'}>
              {comparison === 'grown' && `Grown from ${previous!.size} entries since you last looked in this tab.`}
              {comparison === 'rollback' && `The log shrank from ${previous!.size} to ${value.checkpoint.size} entries since you last looked: report this.`}
              {comparison === 'fork' && 'Same size as before with a different root hash: the log forked. Report this.'}
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
          <details>
            <summary>The checkpoint as published</summary>
            <pre>{value.note}</pre>
          </details>
        </>
      )}
    </section>
  );
}
