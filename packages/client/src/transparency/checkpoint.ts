/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text `<origin>\n<size>\n<base64 root>\n`
 * followed by optional extension lines, signed as a signed-note.
 */
import { decodeBase64, encodeBase64 } from '../bytes.ts';
import { hashSize } from './merkle.ts';
import { NoteError } from './note.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

export function formatCheckpoint(checkpoint: Pick<Checkpoint, 'origin' | 'size' | 'rootHash'> & { extensions?: string[] }): string {
  const extensions = checkpoint.extensions ?? [];
  return [checkpoint.origin, String(checkpoint.size), encodeBase64(checkpoint.rootHash), ...extensions].join('\n') + '\n';
}

/** Parses the note text of a checkpoint (not the signatures: see openNote). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new NoteError('a checkpoint has an origin, a size and a root hash line');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  const extensions = lines.slice(3, -1);
  if (origin.length === 0) throw new NoteError('checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw new NoteError('checkpoint size is not a decimal without leading zeroes');
  const rootHash = decodeBase64(rootText);
  if (!rootHash || rootHash.length !== hashSize || encodeBase64(rootHash) !== rootText) throw new NoteError('checkpoint root hash is not base64 of 32 bytes');
  if (extensions.some((line) => line.length === 0)) throw new NoteError('checkpoint extension lines must not be empty');
  return { origin, size: Number(sizeText), rootHash, extensions };
}
