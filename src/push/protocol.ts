/**
 * The message protocol of the push channel (SPEC §4): JSON text frames, client → server
 * `subscribe` / `unsubscribe` / `ping`, server → client `subscribed` / `event` / `pong` / `error`.
 *
 * @example
 * → {"type":"subscribe","userIds":["user_a"],"since":"41"}
 * ← {"type":"subscribed","userIds":["user_a"],"cursor":"41"}
 * ← {"type":"event","id":"42","event":"prekeys.low","userId":"user_a","data":{…},"createdAt":"…"}
 */
import { z } from '@hono/zod-openapi';
import { AppError, type ErrorCode } from '../domain/errors.ts';
import { validationError } from '../http/errors.ts';
import { userIdRule } from '../domain/identifiers.ts';
import type { StoredEvent } from '../store/types.ts';

/** Event ids are decimal strings (SPEC §4); 19 digits hold any 64-bit id. */
export const eventId = z.string().regex(/^\d{1,19}$/, 'must be an event id: a string of decimal digits');

const userId = z.string().regex(userIdRule.pattern, userIdRule.message);
const userIds = z.array(userId).min(1, 'must name at least one user');

export const clientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), userIds, since: eventId.optional() }),
  z.object({ type: z.literal('unsubscribe'), userIds }),
  z.object({ type: z.literal('ping') }),
]);

export type ClientMessage = z.infer<typeof clientMessage>;
export type SubscribeMessage = Extract<ClientMessage, { type: 'subscribe' }>;

const knownTypes = new Set(['subscribe', 'unsubscribe', 'ping']);

/** Parses one text frame; every way it can be wrong is an AppError VALIDATION_ERROR. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('VALIDATION_ERROR', 'Messages must be JSON text');
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof type !== 'string') {
    throw new AppError('VALIDATION_ERROR', 'A message is a JSON object with a string "type"');
  }
  if (!knownTypes.has(type)) {
    throw new AppError('VALIDATION_ERROR', `Unknown message type "${type.slice(0, 40)}" (subscribe, unsubscribe, ping)`);
  }
  const result = clientMessage.safeParse(value);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** The `event` frame of a stored event; built once per event and shared by every recipient. */
export const eventFrame = (event: StoredEvent): string =>
  JSON.stringify({
    type: 'event',
    id: event.id,
    event: event.event,
    userId: event.userId,
    data: event.data,
    createdAt: event.createdAt,
  });

export const subscribedFrame = (subscribedUserIds: string[], cursor: string): string =>
  JSON.stringify({ type: 'subscribed', userIds: subscribedUserIds, cursor });

export const pongFrame = JSON.stringify({ type: 'pong' });

export const errorFrame = (errorCode: ErrorCode, error: string): string => JSON.stringify({ type: 'error', errorCode, error });

/** WebSocket close codes used by the hub (RFC 6455 §7.4.1, IANA registry). */
export const closeCodes = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;
