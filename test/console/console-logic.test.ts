/** The console's copies of server rules stay equal to the server's: the audit entry hash, checkpoint notes. */
import { describe, expect, it } from 'vitest';
import { auditEntryHash as consoleHash } from '../../src/console/audit-chain.ts';
import { compareCheckpoints, parseCheckpointNote } from '../../src/console/checkpoint-note.ts';
import { auditEntryHash } from '../../src/domain/audit.ts';

describe('console audit rules', () => {
  it('hashes an entry exactly as the server does (WebCrypto vs node:crypto)', async () => {
    const entry = {
      prevHash: 'ab'.repeat(32),
      action: 'KEYS_ROTATED',
      resource: 'USER_KEY',
      userId: 'user_é',
      details: { deviceId: 'd1', nested: { list: [1, 'two', null] }, reason: 'ünïcode "quoted"' },
      ipAddress: null,
      actor: 'key_X',
      status: 'FAILURE' as const,
      createdAt: '2026-03-08T12:00:00.000Z',
    };
    expect(await consoleHash(entry, 'proj')).toBe(auditEntryHash({ ...entry, projectId: 'proj' }));
    expect(await consoleHash(entry, 'other')).not.toBe(auditEntryHash({ ...entry, projectId: 'proj' }));
  });
});

describe('checkpoint notes', () => {
  const root = Buffer.alloc(32, 7).toString('base64');
  const signature = (keyId: number) => Buffer.concat([Buffer.from([0, 0, 0, keyId]), Buffer.alloc(64, 1)]).toString('base64');
  const note = `example.com/prekeyd/default\n42\n${root}\n\n— example.com/prekeyd/default ${signature(1)}\n— witness.example ${signature(2)}\n`;

  it('reads origin, size, root, and each signer with its key ID', () => {
    expect(parseCheckpointNote(note)).toEqual({
      origin: 'example.com/prekeyd/default',
      size: 42,
      rootHash: root,
      extensions: [],
      signatures: [
        { name: 'example.com/prekeyd/default', keyId: '00000001' },
        { name: 'witness.example', keyId: '00000002' },
      ],
    });
  });

  it('refuses what is not a checkpoint', () => {
    expect(() => parseCheckpointNote('no blank line')).toThrow(/blank line/);
    expect(() => parseCheckpointNote(`o\n042\n${root}\n\n`)).toThrow(/tree size/);
    expect(() => parseCheckpointNote(`o\n1\nshort\n\n`)).toThrow(/root hash/);
    expect(() => parseCheckpointNote(`o\n1\n${root}\n\nnot a signature\n`)).toThrow(/signature line/);
  });

  it('tells growth from a rollback and a fork', () => {
    const at = (size: number, rootHash = root) => ({ ...parseCheckpointNote(note), size, rootHash });
    expect(compareCheckpoints(at(5), at(5))).toBe('same');
    expect(compareCheckpoints(at(5), at(6))).toBe('grown');
    expect(compareCheckpoints(at(6), at(5))).toBe('rollback');
    expect(compareCheckpoints(at(5), at(5, Buffer.alloc(32, 8).toString('base64')))).toBe('fork');
  });
});
