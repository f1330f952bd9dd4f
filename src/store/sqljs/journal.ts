// Logical write-ahead journal: one record per committed write transaction.
// Record layout: [u32le payloadLength][u32le crc32(payload)][payload], payload = UTF-8 JSON
// {"lsn":n,"ops":[[sql, params], ...]}. An op may carry a third element 1: the statement threw
// when first run (the caller caught the error and went on); replay runs it and ignores its error,
// so any partial effect (e.g. `UPDATE OR FAIL`) is reproduced exactly.
import { Buffer } from 'node:buffer';
import { open, readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { crc32 } from './crc32.ts';

export type SqlParam = string | number | null;
export type JournalOp = [sql: string, params: SqlParam[]] | [sql: string, params: SqlParam[], failed: 1];
export interface JournalRecord {
  lsn: number;
  ops: JournalOp[];
}

const HEADER_BYTES = 8;

export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const length = Buffer.byteLength(json, 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + length);
  out.write(json, HEADER_BYTES, 'utf8');
  out.writeUInt32LE(length, 0);
  out.writeUInt32LE(crc32(out, HEADER_BYTES), 4);
  return out;
}

export interface DecodedRecord {
  record: JournalRecord;
  /** Byte offset just past this record. */
  end: number;
}

/**
 * Decodes records from the start of a journal image, stopping at the first one that is torn or
 * corrupt (short header, length past the end, CRC mismatch, malformed JSON) or whose LSN does not
 * follow its predecessor. Everything before the returned records' last `end` is trustworthy.
 */
export function decodeRecords(buf: Uint8Array): DecodedRecord[] {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: DecodedRecord[] = [];
  let pos = 0;
  while (pos + HEADER_BYTES <= view.length) {
    const length = view.readUInt32LE(pos);
    const end = pos + HEADER_BYTES + length;
    if (length < 2 || end > view.length) break;
    if (crc32(view, pos + HEADER_BYTES, end) !== view.readUInt32LE(pos + 4)) break;
    const record = parseRecord(view.toString('utf8', pos + HEADER_BYTES, end));
    if (!record) break;
    const prev = out[out.length - 1];
    if (prev && record.lsn !== prev.record.lsn + 1) break;
    out.push({ record, end });
    pos = end;
  }
  return out;
}

function parseRecord(json: string): JournalRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { lsn, ops } = value as { lsn?: unknown; ops?: unknown };
  if (typeof lsn !== 'number' || !Number.isSafeInteger(lsn) || lsn < 1 || !Array.isArray(ops)) return undefined;
  for (const op of ops) {
    if (!Array.isArray(op) || typeof op[0] !== 'string' || !Array.isArray(op[1])) return undefined;
  }
  return { lsn, ops: ops as JournalOp[] };
}

// Journal files are `${path}.journal.<generation>`. Deliberately not `${path}-journal`: the sqlite3
// CLI would take that for its own hot rollback journal and might delete it.
export function journalPath(dbPath: string, gen: number): string {
  return `${dbPath}.journal.${gen}`;
}

/** Generations of the journal files present beside dbPath, ascending. */
export async function listJournalGenerations(dbPath: string): Promise<number[]> {
  const prefix = `${basename(dbPath)}.journal.`;
  const gens: number[] = [];
  for (const name of await readdir(dirname(dbPath))) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^\d{1,15}$/.test(rest)) gens.push(Number(rest));
  }
  return gens.sort((a, b) => a - b);
}

/**
 * Files are read and written in chunks of this size: one call is limited to 2 GiB (readFile refuses
 * larger files outright), and a database image may be larger.
 */
export const fileChunkBytes = 64 * 1024 * 1024;

/**
 * pwrite until every byte is written (a single write may legally be short). With `syncEvery`, the
 * data written so far is synced each time that many more bytes are written: a large file then never
 * leaves gigabytes of dirty pages for one final fsync, which would hold up the journal's fsyncs.
 */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number, syncEvery = Number.POSITIVE_INFINITY): Promise<void> {
  let done = 0;
  let unsynced = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, Math.min(fileChunkBytes, syncEvery, data.length - done), position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
    unsynced += bytesWritten;
    if (unsynced >= syncEvery) {
      await handle.datasync();
      unsynced = 0;
    }
  }
}

/** The whole file in one buffer, read in chunks (no 2 GiB limit); `chunkBytes` is for tests. */
export async function readWholeFile(path: string, chunkBytes = fileChunkBytes): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, Math.min(chunkBytes, size - done), done);
      if (bytesRead === 0) break; // truncated while reading: what was there
      done += bytesRead;
    }
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** Makes a directory's entries (created/renamed/deleted files) durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    if (isUnsupportedDirSync(err)) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    // Some platforms (Windows) cannot fsync a directory; renames are durable there anyway.
    if (!isUnsupportedDirSync(err)) throw err;
  } finally {
    await handle.close();
  }
}

function isUnsupportedDirSync(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF';
}
