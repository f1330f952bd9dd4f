/** Backups on the embedded store: rows keep a reference to the blob file (blob-files.ts); the bytes never enter the database. */
import { Buffer } from 'node:buffer';
import type { BackupRecord } from '../types.ts';
import { toBackup } from '../rows.ts';
import { SqlBackups } from '../sql/repositories.ts';
import type { Row, SqlRunner } from '../sql/runner.ts';
import type { BlobFiles } from './blob-files.ts';

export class SqlJsBackups extends SqlBackups {
  constructor(
    sql: SqlRunner,
    private readonly blobs: BlobFiles,
  ) {
    super(sql);
  }

  protected override async toRecord(row: Row | undefined): Promise<BackupRecord | undefined> {
    if (!row) return undefined;
    const backup = toBackup(row);
    if (row.blob_checksum !== null && row.blob_checksum !== undefined) {
      backup.encryptedBundle = Buffer.from(await this.blobs.read(String(row.blob_checksum))).toString('base64');
    }
    return backup;
  }

  override async insert(backup: BackupRecord) {
    const bytes = new Uint8Array(Buffer.from(backup.encryptedBundle, 'base64')); // validated as standard base64 by the domain
    const blobChecksum = await this.blobs.put(bytes); // durable before this transaction can commit
    await this.sql.run(
      `INSERT INTO backups (project_id, user_id, version, encrypted_bundle, encryption_metadata, checksum, created_at, blob_checksum, size_bytes)
       VALUES (?, ?, ?, '', ?, ?, ?, ?, ?)`,
      [
        backup.projectId,
        backup.userId,
        backup.version,
        JSON.stringify(backup.encryptionMetadata),
        backup.checksum,
        backup.createdAt,
        blobChecksum,
        bytes.length,
      ],
    );
  }
}
