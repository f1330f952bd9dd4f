/** zod schemas shared by route groups; hex is accepted in either case and stored lowercase. */
import { z } from '@hono/zod-openapi';

export const hex = (bytes: number, example?: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes * 2} hex characters (${bytes} bytes)`)
    .transform((value) => value.toLowerCase())
    .openapi({ example: example ?? 'a1'.repeat(bytes) });

/** SPEC §3's user id characters plus `+`, so that Signal's E.164 identifiers are reachable from /v1 too. */
export const userId = z
  .string()
  .regex(/^[A-Za-z0-9._:@+-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ + -')
  .openapi({ example: 'user_abc123' });

export const keyId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
  .openapi({ example: 'opk_001' });

export const deviceId = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : @ -')
  .openapi({ example: 'device_xyz' });

/** Query numbers arrive as text: positive integers with a default and a maximum. */
export const pageNumber = z.coerce.number().int().min(1).default(1).openapi({ example: 1 });
export const pageLimit = (fallback: number, max = 100) =>
  z.coerce.number().int().min(1).max(max).default(fallback).openapi({ example: fallback });

export const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

export const paginationSchema = z
  .object({
    page: z.number().int(),
    limit: z.number().int(),
    total: z.number().int(),
    totalPages: z.number().int(),
    hasNextPage: z.boolean(),
    hasPrevPage: z.boolean(),
  })
  .openapi('Pagination');

export const success = <T extends z.ZodType>(data: T, message?: string) =>
  z.object({
    success: z.literal(true),
    ...(message !== undefined && { message: z.string().openapi({ example: message }) }),
    data,
  });
