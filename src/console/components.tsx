/** Small building blocks of the console's views: modal dialogs, data loading, pager, notices, bars. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api.ts';

/**
 * A modal `<dialog>`: the browser traps focus inside and closes it on Escape; focus returns to
 * the element that opened it.
 */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; labelId?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const dialog = ref.current!;
    dialog.showModal();
    // Closed before focusing: while a modal dialog is open, everything outside it is inert.
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  const labelId = props.labelId ?? 'modal-title';
  return (
    <dialog
      ref={ref}
      aria-labelledby={labelId}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={labelId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
  /** Ask for a reason (sent with suspend and revoke). */
  withReason?: boolean;
  danger?: boolean;
  run: (reason: string) => Promise<void>;
}

/** "Are you sure?" for every action that changes keys: the action runs only on the explicit button. */
export function ConfirmDialog(props: { request: ConfirmRequest; onDone: (outcome: 'done' | 'cancelled', message?: string) => void }) {
  const { request } = props;
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await request.run(reason.trim());
      props.onDone('done');
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return (
    <Modal title={request.title} onClose={() => props.onDone('cancelled')} labelId="confirm-title">
      <form onSubmit={submit}>
        <p>{request.message}</p>
        {request.withReason && (
          <label>
            Reason (optional, kept in the audit log)
            <textarea maxLength={500} rows={2} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
          </label>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={() => props.onDone('cancelled')} disabled={busy} autofocus>
            Cancel
          </button>
          <button type="submit" class={request.danger ? 'danger' : 'primary'} disabled={busy}>
            {busy ? 'Working…' : request.confirmLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Loads with `load` whenever `deps` change; `reload` runs it again. */
export function useLoader<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (value) => mine === generation.current && setState({ value, loading: false }),
      (error: unknown) => mine === generation.current && setState({ error, loading: false }),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function ErrorNotice(props: { error: unknown }) {
  return (
    <p class="error" role="alert">
      {describeError(props.error)}
    </p>
  );
}

export function Pager(props: { page: number; totalPages: number; total: number; onPage: (page: number) => void; label: string }) {
  const { page, totalPages } = props;
  return (
    <nav class="pager" aria-label={`${props.label} pages`}>
      <button type="button" onClick={() => props.onPage(page - 1)} disabled={page <= 1}>
        Previous page
      </button>
      <span aria-live="polite">
        Page {totalPages === 0 ? 0 : page} of {totalPages} ({props.total} in all)
      </span>
      <button type="button" onClick={() => props.onPage(page + 1)} disabled={page >= totalPages}>
        Next page
      </button>
    </nav>
  );
}

/**
 * One-time pre-keys left as a bar, with the low threshold marked: below it the device is sent
 * `prekeys.low` and the bar turns to the warning colour.
 */
export function PreKeyLevel(props: { remaining: number; threshold: number; scale: number; label: string }) {
  const scale = Math.max(props.scale, props.threshold * 2, 1);
  const width = Math.min(100, (props.remaining / scale) * 100);
  const mark = Math.min(100, (props.threshold / scale) * 100);
  const low = props.remaining < props.threshold;
  return (
    <div
      class={`level${low ? ' low' : ''}`}
      role="meter"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={scale}
      aria-valuenow={props.remaining}
      aria-valuetext={`${props.remaining} one-time pre-keys left${low ? `, below the low threshold of ${props.threshold}` : ''}`}
    >
      <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
        <rect class="track" x="0" y="0" width="100" height="10" />
        <rect class="fill" x="0" y="0" width={width} height="10" />
        <line class="threshold" x1={mark} x2={mark} y1="0" y2="10" />
      </svg>
      <span class="level-figure">{props.remaining}</span>
    </div>
  );
}

export const statusLabels: Record<string, string> = { active: 'active', suspended: 'suspended', expired: 'expired', revoked: 'revoked' };

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{statusLabels[props.status] ?? props.status}</span>;
}
