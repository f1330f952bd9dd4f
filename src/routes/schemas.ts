/** zod schemas shared by route groups; hex is accepted in either case and stored lowercase. */
import { z } from '@hono/zod-openapi';
import { deviceIdRule, keyIdRule, userIdRule } from '../domain/identifiers.ts';

export const hex = (bytes: number, example?: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes * 2} hex characters (${bytes} bytes)`)
    .transform((value) => value.toLowerCase())
    .openapi({ example: example ?? 'a1'.repeat(bytes) });

export const userId = z.string().regex(userIdRule.pattern, userIdRule.message).openapi({ example: 'user_abc123' });

export const keyId = z.string().regex(keyIdRule.pattern, keyIdRule.message).openapi({ example: 'opk_001' });

export const deviceId = z.string().regex(deviceIdRule.pattern, deviceIdRule.message).openapi({ example: 'device_xyz' });

/** Query numbers arrive as text: positive integers with a default and a maximum. */
export const pageNumber = z.coerce.number().int().min(1).default(1).openapi({ example: 1 });
export const pageLimit = (fallback: number, max = 100) => z.coerce.number().int().min(1).max(max).default(fallback).openapi({ example: fallback });

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
  .openapi('Pagination', { example: { page: 1, limit: 20, total: 45, totalPages: 3, hasNextPage: true, hasPrevPage: false } });

/** Examples given with `withExample`, so that `success()` can document the whole envelope. */
const documentedExamples = new WeakMap<z.ZodType, unknown>();

/** `schema` documented with `example` (typed by what the schema accepts). */
export function withExample<T extends z.ZodType>(schema: T, example: z.input<T>): T {
  const documented = schema.openapi({ example: example as never });
  documentedExamples.set(documented, example);
  return documented;
}

/**
 * The `{success: true, message?, data}` envelope. Its example wraps `example`, else the one
 * `data` was given with `withExample` (the answer differs from the data's usual example).
 */
export function success<T extends z.ZodType>(data: T, message?: string, example?: z.input<T>) {
  const envelope = z.object({
    success: z.literal(true),
    ...(message !== undefined && { message: z.string().openapi({ example: message }) }),
    data,
  });
  const dataExample = example ?? documentedExamples.get(data);
  if (dataExample === undefined) return envelope;
  return envelope.openapi({ example: { success: true, ...(message !== undefined && { message }), data: dataExample } as never });
}
