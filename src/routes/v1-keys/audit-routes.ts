/** GET /v1/keys/audit (filters, newest first) and /v1/keys/audit/verify (hash chain check). */
import { z } from '@hono/zod-openapi';
import { auditActions, verifyAuditChain } from '../../domain/audit.ts';
import { queryAudit } from '../../domain/audit-query.ts';
import type { Deps } from '../../domain/deps.ts';
import { createRouter, defineRoute, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { auditHashes } from '../examples.ts';
import { isoDate, pageLimit, pageNumber, paginationSchema, success, userId, withExample } from '../schemas.ts';

const auditQuery = z.object({
  userId: userId.optional(),
  action: z.enum(auditActions).optional().openapi({ example: 'KEYS_ROTATED' }),
  startDate: isoDate.optional().openapi({ description: 'ISO instant or date (from 00:00 UTC)', example: '2026-03-08T00:00:00.000Z' }),
  endDate: isoDate.optional().openapi({ description: 'ISO instant or date (the whole day, UTC)', example: '2026-03-09' }),
  page: pageNumber,
  limit: pageLimit(50),
});

/** Seed 004's audit entry, with the fields prekeyd adds (id, actor, hash chain). */
const auditEntryExample = {
  id: 12,
  action: 'KEYS_ROTATED',
  resource: 'USER_KEY',
  userId: 'user_abc123',
  details: { deviceId: 'device_xyz', newSignedPreKeyId: 'spk_002', oneTimePreKeysAdded: 10 },
  ipAddress: '203.0.113.42',
  actor: 'key_VO6UTDBW5S4YJCL17KAXNZ',
  status: 'SUCCESS',
  createdAt: '2026-03-08T12:00:00.000Z',
  prevHash: auditHashes.previous,
  hash: auditHashes.head,
} as const;

const auditEntry = z
  .object({
    id: z.number().int(),
    action: z.string(),
    resource: z.string(),
    userId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    ipAddress: z.string().nullable(),
    actor: z.string().openapi({ description: 'The API key uid, or `master`' }),
    status: z.enum(['SUCCESS', 'FAILURE']),
    createdAt: z.string(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEntry', { example: auditEntryExample });

const auditPage = withExample(z.object({ success: z.literal(true), data: z.array(auditEntry), pagination: paginationSchema }), {
  success: true,
  data: [auditEntryExample],
  pagination: { page: 1, limit: 50, total: 12, totalPages: 1, hasNextPage: false, hasPrevPage: false },
});

const chainReport = withExample(
  z
    .object({
      valid: z.boolean(),
      entries: z.number().int(),
      headHash: z.string(),
      brokenAt: z.number().int().optional().openapi({ description: 'Id of the first entry that does not chain' }),
    })
    .openapi('AuditChainReport'),
  { valid: true, entries: 12, headHash: auditHashes.head },
);

const list = defineRoute('audit.read', {
  method: 'get',
  path: '/v1/keys/audit',
  rateLimit: 'keys',
  tags: ['Audit'],
  summary: "The project's audit log, newest first",
  request: { query: auditQuery },
  responses: {
    200: jsonResponse(auditPage, 'A page of audit entries'),
    ...errorResponses(400, 403),
  },
});

const verify = defineRoute('audit.read', {
  method: 'get',
  path: '/v1/keys/audit/verify',
  rateLimit: 'keys',
  tags: ['Audit'],
  summary: "Walk the project's audit hash chain and report whether it is intact",
  responses: {
    200: jsonResponse(success(chainReport), 'Chain report'),
    ...errorResponses(403),
  },
});

export function auditRoutes(deps: Deps) {
  return createRouter()
    .openapi(list, async (c) => {
      const { data, pagination } = await queryAudit(deps, c.get('caller'), c.req.valid('query'));
      return c.json({ success: true as const, data, pagination }, 200);
    })
    .openapi(verify, async (c) => {
      const data = await verifyAuditChain(deps, c.get('caller').projectId);
      return c.json({ success: true as const, data }, 200);
    });
}
