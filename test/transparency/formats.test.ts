/** C2SP formats byte for byte: signed-note (the Go reference vector), checkpoints, cosignatures, tile paths, entry bundles, leaves. */
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint } from '../../packages/client/src/transparency/checkpoint.ts';
import { cosignedMessage, cosignerFromSeed, verifyCosignature } from '../../packages/client/src/transparency/cosignature.ts';
import { decodeEntryBundle, encodeEntryBundle } from '../../src/transparency/entry-bundle.ts';
import { decodeLeaf, encodeLeaf, LeafError } from '../../packages/client/src/transparency/leaf.ts';
import { NoteError, openNote, parseNote, parseSignerKey, parseVerifierKey, signNote } from '../../packages/client/src/transparency/note.ts';
import { encodeTileIndex, parseTilePath, rightEdge, tilePath } from '../../src/transparency/tiles.ts';

// golang.org/x/mod/sumdb/note's documented example key and note.
const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const signed = `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('signed-note', () => {
  it('reproduces the reference signature and key encodings exactly', () => {
    const signer = parseSignerKey(skey);
    expect(signer.verifierKey).toBe(vkey);
    expect(signer.signerKey).toBe(skey);
    expect(signNote(text, [signer])).toBe(signed);
    const opened = openNote(signed, [parseVerifierKey(vkey)]);
    expect(opened.text).toBe(text);
    expect(opened.signatures[0]).toMatchObject({ name: 'PeterNeumann', keyId: 'c74f20a3' });
  });

  it('refuses altered notes, altered keys and unknown signers', () => {
    expect(() => openNote(signed.replace('cryptography', 'cryptographY'), [parseVerifierKey(vkey)])).toThrow(NoteError);
    expect(() => parseVerifierKey(vkey.replace('c74f20a3', 'c74f20a4'))).toThrow(NoteError);
    expect(() => parseVerifierKey(vkey.replace('PeterNeumann', 'PeterNeumanm'))).toThrow(NoteError);
    expect(() => parseVerifierKey('PeterNeumann+c74f20a3')).toThrow(NoteError);
    expect(() => parseSignerKey(skey.replace('AYEK', 'AYEL'))).toThrow(NoteError); // another seed: the key ID no longer matches
    expect(() => parseNote(`${text}— PeterNeumann AAAA\n`)).toThrow(NoteError);
    expect(() => signNote('no final newline', [parseSignerKey(skey)])).toThrow(NoteError);
  });
});

describe('tlog-checkpoint', () => {
  it('formats and parses the spec example, and refuses non-canonical text', () => {
    const example = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const parsed = parseCheckpoint(example);
    expect(parsed).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(formatCheckpoint(parsed)).toBe(example);
    expect(() => parseCheckpoint(example.replace('20852163', '020852163'))).toThrow(NoteError);
    expect(() => parseCheckpoint(example.replace('I=\n', 'I\n'))).toThrow(NoteError);
    expect(() => parseCheckpoint('example.com/log\n5\n')).toThrow(NoteError);
    expect(parseCheckpoint(`${example}ext line\n`).extensions).toEqual(['ext line']);
  });
});

describe('tlog-cosignature', () => {
  it('signs cosignature/v1 over "cosignature/v1\\ntime <t>\\n" and the note text, with a 0x04 key ID and a big-endian timestamp', () => {
    const cosigner = cosignerFromSeed('witness.example/w1', new Uint8Array(32).fill(7));
    const checkpoint = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const line = cosigner.cosign(checkpoint, 1679315147);
    const witness = parseVerifierKey(cosigner.verifierKey);
    expect(witness.type).toBe(4);
    const [signature] = parseNote(`${checkpoint}\n${line}`).signatures;
    expect(Buffer.from(signature!.signature.slice(0, 8)).readBigUInt64BE()).toBe(1679315147n);
    expect(verifyCosignature(witness, checkpoint, signature!)).toBe(1679315147);
    expect(verifyCosignature(witness, checkpoint.replace('20852163', '20852164'), signature!)).toBeUndefined();
    expect(new TextDecoder().decode(cosignedMessage('a\n', 5))).toBe('cosignature/v1\ntime 5\na\n');
  });
});

describe('tlog-tiles', () => {
  it('encodes tile indexes and paths as the spec does', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(5)).toBe('005');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(tilePath(0, 1234067)).toBe('tile/0/x001/x234/067');
    expect(tilePath('entries', 3, 112)).toBe('tile/entries/003.p/112');
    expect(parseTilePath('0/x001/x234/067.p/112')).toEqual({ level: 0, index: 1234067, width: 112 });
    expect(parseTilePath('entries/000')).toEqual({ level: 'entries', index: 0, width: 256 });
    for (const bad of ['0/x000/001', '0/1', '01/000', '64/000', '0/000.p/256', '0/000.p/0', '0/000.p/012', '0/000/', 'x/000']) {
      expect(parseTilePath(bad), bad).toBeUndefined();
    }
  });

  it('has the partial tiles of the spec example (70,000 leaves) and of 256 leaves', () => {
    expect(rightEdge(70_000)).toEqual([
      { level: 0, index: 273, width: 112 },
      { level: 1, index: 1, width: 17 },
      { level: 2, index: 0, width: 1 },
    ]);
    expect(rightEdge(256)).toEqual([{ level: 1, index: 0, width: 1 }]);
  });

  it('entry bundles are big-endian uint16 length-prefixed entries', () => {
    const entries = [new Uint8Array([0x61]), new Uint8Array(0), new Uint8Array(300).fill(2)];
    const bundle = encodeEntryBundle(entries);
    expect(Buffer.from(bundle.subarray(0, 5)).toString('hex')).toBe('0001610000');
    expect(Buffer.from(bundle.subarray(5, 7)).toString('hex')).toBe('012c');
    expect(decodeEntryBundle(bundle)).toEqual(entries);
    expect(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1))).toThrow(RangeError);
  });
});

describe('leaf encoding', () => {
  const leaf = {
    event: 'key-set.rotated' as const,
    projectId: 'p1',
    time: '2026-12-03T12:00:00.000Z',
    userId: 'alice@example.com',
    deviceId: 'phone',
    keyFormat: 'v1' as const,
    identityKey: 'a'.repeat(64),
    signedPreKey: { keyId: 'spk_2', hash: 'b'.repeat(64) },
    lastResortPreKey: null,
  };

  it('is the documented canonical text, and round-trips', () => {
    const text = new TextDecoder().decode(encodeLeaf(leaf));
    expect(text).toBe(
      `prekeyd/leaf/v1\nproject p1\ntime 2026-12-03T12:00:00.000Z\nevent key-set.rotated\nuser alice@example.com\ndevice phone\nformat v1\nidentity-key ${'a'.repeat(64)}\nsigned-pre-key spk_2 ${'b'.repeat(64)}\nlast-resort-pre-key none\n`,
    );
    expect(decodeLeaf(encodeLeaf(leaf))).toEqual(leaf);
    const anchor = { event: 'anchor' as const, projectId: 'p1', time: leaf.time, hash: 'c'.repeat(64) };
    expect(decodeLeaf(encodeLeaf(anchor))).toEqual(anchor);
  });

  it('refuses anything not canonical', () => {
    const text = new TextDecoder().decode(encodeLeaf(leaf));
    for (const bad of [
      text.replace('project p1\n', ''),
      text.replace('user ', 'user  '),
      `${text}extra x\n`,
      text.replace('v1\n', 'v2\n'),
      text.slice(0, -1),
    ]) {
      expect(() => decodeLeaf(new TextEncoder().encode(bad))).toThrow(LeafError);
    }
    expect(() => encodeLeaf({ ...leaf, userId: 'has space' })).toThrow(LeafError);
  });
});
