/**
 * Asking C2SP tlog-witness witnesses to cosign a checkpoint (`POST <url>/add-checkpoint`). A
 * witness that is down, slow or refusing costs a log line, never a failed or blocked request:
 * every call has a timeout and its failure is only reported.
 */
import { encodeBase64 } from '../../../packages/client/src/core/encoding.ts';

export interface WitnessAnswer {
  /** Cosignature lines (`— name base64\n`…), on success. */
  cosignatures?: string;
  /** On a 409: the size the witness last cosigned. */
  witnessSize?: number;
  status: number;
}

export function addCheckpointBody(oldSize: number, proof: Uint8Array[], note: string): string {
  return `old ${oldSize}\n${proof.map((hash) => `${encodeBase64(hash)}\n`).join('')}\n${note}`;
}

export async function addCheckpoint(url: string, body: string, timeoutMs: number): Promise<WitnessAnswer> {
  const response = await fetch(`${url.replace(/\/+$/, '')}/add-checkpoint`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = (await response.text()).slice(0, 64 * 1024);
  if (response.status === 200) {
    const lines = text.split('\n').filter((line) => line.length > 0);
    if (lines.length === 0 || lines.some((line) => !line.startsWith('— '))) return { status: 502 };
    return { status: 200, cosignatures: lines.map((line) => `${line}\n`).join('') };
  }
  if (response.status === 409 && /^\d+\n?$/.test(text)) return { status: 409, witnessSize: Number(text.trim()) };
  return { status: response.status };
}
