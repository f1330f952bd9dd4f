/**
 * Reading a C2SP tlog-checkpoint signed note (c2sp.org/tlog-checkpoint, c2sp.org/signed-note):
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n[extension lines\n]\n— <key name> <base64(key ID ‖ signature)>\n…
 *
 * For display only: the console shows what the log published and who signed it; clients and
 * monitors verify the signatures.
 */
export interface CheckpointSignature {
  name: string;
  /** Hex of the 4-byte key ID that starts each signature. */
  keyId: string;
}

export interface ParsedCheckpoint {
  origin: string;
  size: number;
  rootHash: string;
  extensions: string[];
  signatures: CheckpointSignature[];
}

const decodeBase64 = (text: string): Uint8Array | undefined => {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
};

const toHex = (bytes: Uint8Array) => [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');

export function parseCheckpointNote(note: string): ParsedCheckpoint {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('not a signed note: no blank line before the signatures');
  const lines = note.slice(0, split).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin || !sizeText || !rootText) throw new Error('a checkpoint has an origin, a tree size and a root hash line');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error('the tree size is not a decimal number');
  const root = decodeBase64(rootText);
  if (!root || root.length !== 32) throw new Error('the root hash is not base64 of 32 bytes');
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const match = /^— (\S+) (\S+)$/.exec(line);
      const bytes = match && decodeBase64(match[2]!);
      if (!match || !bytes || bytes.length < 5) throw new Error(`not a signature line: ${line.slice(0, 80)}`);
      return { name: match[1]!, keyId: toHex(bytes.slice(0, 4)) };
    });
  return { origin, size: Number(sizeText), rootHash: rootText, extensions, signatures };
}

/** What two checkpoints of one log seen in this tab say together, without proofs: a rollback or a fork is visible as is. */
export function compareCheckpoints(previous: ParsedCheckpoint, current: ParsedCheckpoint): 'same' | 'grown' | 'rollback' | 'fork' {
  if (current.size < previous.size) return 'rollback';
  if (current.size === previous.size) return current.rootHash === previous.rootHash ? 'same' : 'fork';
  return 'grown';
}
