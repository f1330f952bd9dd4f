/** POST /v1/keys/backup and /v1/keys/recover: encrypted key backups, opaque to the server. */
import { recoverBackup, storeBackup } from '../../domain/backups.ts';
import type { Deps } from '../../domain/deps.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { backupBody, backupResult, recoverBody, recoverResult } from './backup-schemas.ts';

const backup = defineRoute('backups.write', {
  method: 'post',
  path: '/v1/keys/backup',
  rateLimit: 'keys',
  tags: ['Backups'],
  summary: 'Store an encrypted backup of the private keys (a new version)',
  description:
    'The blob is encrypted client-side (Argon2id + AES-256-GCM); `checksum` is the hex SHA-256 of the decoded blob (400 CHECKSUM_MISMATCH otherwise). `expectedVersion` gives optimistic concurrency: 409 unless it is the current version (0 when none). A decoded blob over the size cap gets 413.',
  request: { body: jsonBody(backupBody) },
  responses: {
    200: jsonResponse(success(backupResult, 'Backup stored successfully'), 'Backup stored'),
    ...errorResponses(400, 403, 409, 413),
  },
});

const recover = defineRoute('backups.read', {
  method: 'post',
  path: '/v1/keys/recover',
  rateLimit: 'keys',
  tags: ['Backups'],
  summary: 'Retrieve the latest (or a given version of the) encrypted backup',
  request: { body: jsonBody(recoverBody) },
  responses: {
    200: jsonResponse(success(recoverResult), 'The stored backup, as sent'),
    ...errorResponses(400, 403, 404),
  },
});

export function backupRoutes(deps: Deps) {
  return createRouter()
    .openapi(backup, async (c) => {
      const data = await storeBackup(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Backup stored successfully', data }, 200);
    })
    .openapi(recover, async (c) => {
      const data = await recoverBackup(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, data }, 200);
    });
}
