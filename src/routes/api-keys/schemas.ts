/** Request and response shapes of `/v1/api-keys` (SPEC §2, seeds 003 and 001). */
import { z } from '@hono/zod-openapi';
import { actions } from '../../domain/principal.ts';
import { userIdPatternLimits, userIdPatternProblem } from '../../domain/user-patterns.ts';
import { apiKeySample } from '../examples.ts';
import { pageLimit, pageNumber, paginationSchema, withExample } from '../schemas.ts';

export const projectIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
  .openapi({ example: 'default' });

export const aclSchema = z
  .array(z.enum(actions))
  .min(1, 'at least one action')
  .max(actions.length)
  .openapi({ example: ['keys.register', 'bundles.fetch'], description: 'Actions the key may perform; `*` for all.' });

const { maxLength, maxWildcards, maxPatterns } = userIdPatternLimits;

export const userIdPatternsSchema = z
  .array(
    z.string().superRefine((pattern, context) => {
      const problem = userIdPatternProblem(pattern);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  )
  .min(1, 'at least one pattern')
  .max(maxPatterns, `at most ${maxPatterns} patterns`)
  .openapi({
    example: ['user_abc123'],
    description: `Users the key may act as; \`*\` matches any run of characters. At most ${maxPatterns} patterns of 1-${maxLength} characters (A-Z a-z 0-9 . _ : @ + - and \`*\`), each with at most ${maxWildcards} wildcards. Default: the creating key’s own patterns (\`["*"]\` for the master key).`,
  });

const descriptionSchema = z.string().max(500).nullable().openapi({ example: 'search key' });

/** Year 9999 at the latest, so the date stays an RFC 3339 date-time. */
const maxUnixSeconds = 253_402_300_799;

const expiresAtSchema = z
  .union([z.iso.datetime({ offset: true }), z.number().int().positive().max(maxUnixSeconds), z.null()])
  .openapi({ example: '2030-01-01T00:00:00Z', description: 'RFC 3339 date-time, unix seconds, or null (never). Must be in the future.' });

export const createApiKeyBody = z
  .object({
    projectId: projectIdSchema,
    acl: aclSchema,
    userIds: userIdPatternsSchema.optional(),
    description: descriptionSchema.optional(),
    expiresAt: expiresAtSchema.optional(),
  })
  .strict()
  .openapi('CreateApiKeyRequest', {
    // Seed 003's body; its `indexes` are prekeyd's `userIds`, its expiry (unix seconds) moved to 2030.
    example: { projectId: 'default', description: 'search key', acl: ['bundles.fetch'], userIds: ['user_abc123'], expiresAt: 1893456000 },
  });

const immutable = (name: string) =>
  z
    .unknown()
    .optional()
    .openapi({ description: `Cannot be changed: sending ${name} → 400 IMMUTABLE_FIELD.` });

export const updateApiKeyBody = z
  .object({
    description: descriptionSchema.optional(),
    acl: aclSchema.optional(),
    userIds: userIdPatternsSchema.optional(),
    revoked: z.boolean().optional().openapi({ description: 'true refuses the key from the next request on; false restores it.' }),
    expiresAt: immutable('expiresAt'),
    projectId: immutable('projectId'),
  })
  .strict()
  .openapi('UpdateApiKeyRequest', { example: { description: 'Read and write keys', acl: ['keys.read', 'keys.register'] } });

export const listApiKeysQuery = z.object({
  projectId: projectIdSchema.optional().openapi({ description: 'Master key: the project to list (default: every project). API key: its own only.' }),
  search: z.string().max(200).optional().openapi({ description: 'Keys whose description contains this text', example: 'search' }),
  page: pageNumber,
  limit: pageLimit(25),
});

export const uidParam = z.object({
  uid: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .openapi({ param: { name: 'uid', in: 'path' }, example: apiKeySample.uid }),
});

/** Seed 003's key object (timestamps to the millisecond, as prekeyd writes them). */
const apiKeyExample = {
  uid: apiKeySample.uid,
  prefix: apiKeySample.prefix,
  projectId: 'default',
  description: 'search key',
  acl: ['bundles.fetch'],
  userIds: ['user_abc123'],
  expiresAt: '2030-01-01T00:00:00.000Z',
  revoked: false,
  createdAt: '2019-11-21T09:49:00.666Z',
  updatedAt: '2019-11-21T09:49:00.666Z',
  lastUsedAt: null,
};

/** The key after seed 003's update. */
export const updatedApiKeyExample = {
  ...apiKeyExample,
  description: 'Read and write keys',
  acl: ['keys.read', 'keys.register'],
  updatedAt: '2019-11-21T10:31:29.492Z',
};

export const apiKeySchema = withExample(
  z
    .object({
      uid: z.string(),
      prefix: z.string().openapi({ example: apiKeySample.prefix, description: 'The first characters of the key, to recognise it' }),
      projectId: z.string(),
      description: z.string().nullable(),
      acl: z.array(z.string()),
      userIds: z.array(z.string()),
      expiresAt: z.string().nullable(),
      revoked: z.boolean(),
      createdAt: z.string(),
      updatedAt: z.string(),
      lastUsedAt: z.string().nullable().openapi({ description: 'Recorded in batches: may lag by up to a minute' }),
    })
    .openapi('ApiKey'),
  apiKeyExample,
);

export const createdApiKeySchema = withExample(
  apiKeySchema.extend({ key: z.string().openapi({ description: 'The secret: shown only in this answer, never again' }) }).openapi('CreatedApiKey'),
  { ...apiKeyExample, key: apiKeySample.key },
);

export const apiKeyListSchema = withExample(
  z.object({
    success: z.literal(true),
    data: z.array(apiKeySchema),
    pagination: paginationSchema,
  }),
  { success: true, data: [apiKeyExample], pagination: { page: 1, limit: 25, total: 1, totalPages: 1, hasNextPage: false, hasPrevPage: false } },
);
