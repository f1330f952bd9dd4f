/** C2SP tlog-tiles entry bundles: each entry as a big-endian uint16 length, then its bytes. */
export const maxEntryBytes = 0xffff;

export function encodeEntryBundle(entries: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((sum, entry) => sum + 2 + entry.length, 0));
  let offset = 0;
  for (const entry of entries) {
    if (entry.length > maxEntryBytes) throw new RangeError('an entry bundle entry is at most 65535 bytes');
    out[offset] = entry.length >> 8;
    out[offset + 1] = entry.length & 0xff;
    out.set(entry, offset + 2);
    offset += 2 + entry.length;
  }
  return out;
}

export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < bundle.length) {
    if (offset + 2 > bundle.length) throw new RangeError('truncated entry bundle');
    const length = (bundle[offset]! << 8) | bundle[offset + 1]!;
    if (offset + 2 + length > bundle.length) throw new RangeError('truncated entry bundle');
    entries.push(bundle.slice(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return entries;
}
