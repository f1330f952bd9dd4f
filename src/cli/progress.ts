/**
 * A live progress line (rows, bytes, ETA) for long commands (snapshot, migrate), redrawn in
 * place on a terminal and silent otherwise, so that logs and pipes get only the final summary.
 */
import process from 'node:process';

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressFigures {
  /** What is being done now, e.g. "copying audit_log". */
  step: string;
  rows?: number;
  totalRows?: number;
  bytes: number;
  totalBytes?: number;
}

export interface Progress {
  update(figures: ProgressFigures): void;
  /** Clears the line (the caller prints its summary after). */
  finish(): void;
}

const quiet: Progress = { update: () => undefined, finish: () => undefined };

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const formatSeconds = (seconds: number): string =>
  seconds < 60 ? `${Math.ceil(seconds)}s` : `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;

/** The text of one progress line; the ETA comes from the rate so far over whichever total is known. */
export function progressText(figures: ProgressFigures, elapsedMs: number): string {
  const parts = [figures.step];
  if (figures.rows !== undefined)
    parts.push(`${figures.rows.toLocaleString('en')}${figures.totalRows === undefined ? '' : ` / ${figures.totalRows.toLocaleString('en')}`} rows`);
  parts.push(`${formatBytes(figures.bytes)}${figures.totalBytes === undefined ? '' : ` / ${formatBytes(figures.totalBytes)}`}`);
  const [done, total] = figures.totalRows !== undefined ? [figures.rows ?? 0, figures.totalRows] : [figures.bytes, figures.totalBytes];
  if (total !== undefined && total > 0) {
    const fraction = Math.min(1, done / total);
    parts.push(`${Math.floor(fraction * 100)}%`);
    if (fraction > 0 && fraction < 1 && elapsedMs > 500) parts.push(`ETA ${formatSeconds(((elapsedMs / fraction) * (1 - fraction)) / 1000)}`);
  }
  return parts.join(' · ');
}

export function progressLine(stream: ProgressStream = process.stderr, intervalMs = 100): Progress {
  if (!stream.isTTY) return quiet;
  const started = Date.now();
  let drawnAt = 0;
  return {
    update(figures) {
      const now = Date.now();
      if (now - drawnAt < intervalMs) return;
      drawnAt = now;
      stream.write(`\r\x1b[K${progressText(figures, now - started)}`);
    },
    finish() {
      if (drawnAt > 0) stream.write('\r\x1b[K');
    },
  };
}
