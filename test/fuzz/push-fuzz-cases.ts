/**
 * What the push-channel fuzzer sends (fast-check arbitraries) and what it expects back: an
 * oracle for one client text frame written from SPEC §4 (and §3 for user ids), independent of
 * src/push, so the server's answers are checked, not just survived.
 */
import fc from 'fast-check';
import type { ClientFrame } from './push-wire.ts';

/** Users the fuzzing key may act as (its pattern is `fz_*`); a small pool so subscribe and unsubscribe meet. */
const fuzzUserPool = ['fz_0', 'fz_1', 'fz_2', 'fz_3', 'fz_4', 'fz_5'];
/** SPEC §3 user ids, plus `+` for Signal's E.164 identifiers (routes/schemas.ts). */
const userIdPattern = /^[A-Za-z0-9._:@+-]{1,128}$/;
/** The SPEC §4 ids are decimal strings; the server may refuse ones beyond 64 bits (19 digits). */
const maxIdDigits = 19;

/** `arbitrary` about once in `oneIn` cases, else undefined. */
export const sometimes = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

// ---------------------------------------------------------------- text frames

/** Stands for a deeply nested array, spliced into the JSON text after stringify. */
class DeepJson {
  constructor(readonly depth: number) {}
}

/** JSON text of a value that may hold DeepJson placeholders and own `__proto__` keys. */
function toJsonText(value: unknown): string {
  const text = JSON.stringify(value, (_key, item: unknown) => (item instanceof DeepJson ? `\u0001deep${item.depth}\u0001` : item));
  return text.replace(/"\\u0001deep(\d+)\\u0001"/g, (_match, depth: string) => '['.repeat(Number(depth)) + ']'.repeat(Number(depth)));
}

/** An object with exactly these own keys in this order, `__proto__` included. */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 3000 }).map((depth) => new DeepJson(depth)),
);

const userIdLike = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...fuzzUserPool) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'm0',
      'user_a',
      '*',
      'fz_*',
      '',
      ' ',
      'fz_0 ',
      'FZ_0',
      'fz_\u0000',
      'fz_😀',
      'fz_é',
      '__proto__',
      'constructor',
      'fz_+15551234567',
      'fz_a:b@c.d-e',
      `fz_${'a'.repeat(125)}`,
      `fz_${'a'.repeat(126)}`,
      'fz_\ud800',
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^fz_[A-Za-z0-9._:@+-]{1,12}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
);

/** Arrays past the subscription limit, of valid, repeated, forbidden or wrongly typed ids. */
const hugeArray = fc
  .record({ size: fc.integer({ min: 100, max: 9_000 }), kind: fc.constantFrom('distinct', 'same', 'forbidden', 'null', 'number', 'nested') })
  .map(({ size, kind }) =>
    Array.from({ length: size }, (_, index) =>
      kind === 'distinct'
        ? `fz_${index}`
        : kind === 'same'
          ? 'fz_1'
          : kind === 'forbidden'
            ? `other_${index}`
            : kind === 'null'
              ? null
              : kind === 'number'
                ? index
                : [[index]],
    ),
  );

/** Well-formed user ids, mostly the key's own, sometimes another user's (FORBIDDEN). */
const validUserId = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...fuzzUserPool) },
  { weight: 1, arbitrary: fc.constantFrom('m0', 'user_a', 'other', 'fz', 'FZ_1', `fz_${'a'.repeat(125)}`, 'fz_+15551234567', 'fz_a:b@c.d-e') },
  { weight: 1, arbitrary: fc.stringMatching(/^fz_[A-Za-z0-9._:@+-]{1,12}$/) },
);

const userIdsField = fc.oneof(
  { weight: 12, arbitrary: fc.array(validUserId, { minLength: 1, maxLength: 4 }) },
  { weight: 4, arbitrary: fc.array(userIdLike, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(junk, { maxLength: 5 }) },
  { weight: 1, arbitrary: junk },
  { weight: 1, arbitrary: hugeArray },
);

const validSince = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), fc.bigInt({ min: 0n, max: 1000n })).map(String);

const sinceField = fc.oneof(
  { weight: 6, arbitrary: validSince },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0',
      '00000000000000000042',
      '9223372036854775807',
      '9223372036854775808',
      '9999999999999999999',
      '18446744073709551616',
      '1'.repeat(40),
      '',
      '-1',
      '+1',
      '1e3',
      '0x10',
      ' 1',
      '1 ',
      '1.0',
      '١٢٣',
      '１２３',
      'NaN',
      'Infinity',
      'null',
      '1\u0000',
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^\d{1,30}$/) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constant(1e30), fc.constant(-1), fc.constant(null)) },
  { weight: 1, arbitrary: junk },
);

const typeField = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom('subscribe', 'subscribe', 'unsubscribe', 'ping') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Subscribe',
      'SUBSCRIBE',
      'pong',
      'subscribed',
      'event',
      'error',
      '',
      ' ping',
      'ping\u0000',
      '__proto__',
      'toString',
      'constructor',
      'hasOwnProperty',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  { weight: 1, arbitrary: junk },
);

const absent = Symbol('absent');
const extraKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'type', 'userIds', 'since', 'id', 'data', 'prototype'), fc.string({ maxLength: 8 }));

/** Message-shaped objects with each field right, wrong, missing or doubled. */
const nearValidText = fc
  .record({
    type: fc.option(typeField, { nil: absent, freq: 20 }),
    userIds: fc.option(userIdsField, { nil: absent, freq: 12 }),
    since: fc.option(sinceField, { nil: absent, freq: 2 }),
    extras: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(extraKey, junk), { maxLength: 3 }) }),
    extrasFirst: fc.boolean(),
  })
  .map(({ type, userIds, since, extras, extrasFirst }) => {
    const fields: Array<[string, unknown]> = [];
    if (type !== absent) fields.push(['type', type]);
    if (userIds !== absent) fields.push(['userIds', userIds]);
    if (since !== absent) fields.push(['since', since]);
    return toJsonText(objectOf(extrasFirst ? [...extras, ...fields] : [...fields, ...extras]));
  });

/** Well-formed messages (whether allowed depends on the users and the connection's subscriptions). */
const validText = fc.oneof(
  fc.constant('{"type":"ping"}'),
  fc
    .record({ userIds: fc.array(validUserId, { minLength: 1, maxLength: 4 }), since: sometimes(validSince, 3) })
    .map(({ userIds, since }) => JSON.stringify({ type: 'subscribe', userIds, since })),
  fc.array(validUserId, { minLength: 1, maxLength: 4 }).map((userIds) => JSON.stringify({ type: 'unsubscribe', userIds })),
);

const validTexts = [
  '{"type":"ping"}',
  '{"type":"subscribe","userIds":["fz_1"]}',
  '{"type":"subscribe","userIds":["fz_2","fz_3"],"since":"0"}',
  '{"type":"unsubscribe","userIds":["fz_1"]}',
];

/** A valid message with a few characters inserted, deleted, replaced or repeated. */
const mutatedText = fc
  .tuple(
    fc.constantFrom(...validTexts),
    fc.array(
      fc.record({
        op: fc.constantFrom('insert', 'delete', 'replace', 'repeat'),
        at: fc.nat(),
        text: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
      }),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  )
  .map(([text, mutations]) =>
    mutations.reduce((current, { op, at, text: inserted }) => {
      const index = current.length === 0 ? 0 : at % current.length;
      if (op === 'insert') return current.slice(0, index) + inserted + current.slice(index);
      if (op === 'delete') return current.slice(0, index) + current.slice(index + 1);
      if (op === 'replace') return current.slice(0, index) + inserted + current.slice(index + 1);
      return current.slice(0, index) + current.slice(index, index + 4).repeat(2) + current.slice(index + 4);
    }, text),
  );

const trickyTexts = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '"ping"',
  '[]',
  '{}',
  '[{"type":"ping"}]',
  '{"type":"ping","type":"subscribe"}',
  '{"type":"subscribe","userIds":["fz_1"],"type":"ping"}',
  '\uFEFF{"type":"ping"}',
  '{"type":"ping"}\u0000',
  '{"type":"ping"} {"type":"ping"}',
  '{"type":"ping"}\n',
  ' {"type" : "ping" }\t',
  '{"__proto__":{"type":"ping"}}',
  '{"type":"ping","__proto__":null}',
  '{"type":"subscribe","userIds":["fz_1"],"__proto__":{"since":"x"}}',
  '{"constructor":{"prototype":{"type":"ping"}}}',
  '{"type":"\\u0070ing"}',
  '{"type":"subscribe","userIds":["fz_\\u0031"]}',
  '{"type":"subscribe","userIds":["\\ud800"]}',
  '1e999',
  '{"type":"subscribe","userIds":["fz_1"],"since":1e999}',
  '{"type":"subscribe","userIds":["fz_1","fz_1","fz_1"]}',
  '{"type":"unsubscribe","userIds":["never_subscribed"]}',
  '{"type":"subscribe","userIds":[]}',
  '{"type":"subscribe","userIds":["fz_1"],"since":"00"}',
  '{"type":"ping","userIds":{"length":1}}',
  '{"type":"subscribe","userIds":{"0":"fz_1","length":1}}',
];

export const textFrame: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: nearValidText },
  { weight: 4, arbitrary: validText },
  { weight: 2, arbitrary: mutatedText },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 50 }) },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom(...trickyTexts) },
);

/** Where to cut a message into fragments (byte offsets; out-of-range ones are dropped). */
export const fragmentCuts: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<number[]>([]) },
  { weight: 1, arbitrary: fc.array(fc.nat(70_000), { maxLength: 3 }) },
);

// ---------------------------------------------------------------- the oracle

export type Outcome =
  | { kind: 'close'; code: number }
  | { kind: 'none'; unsubscribed: string[] }
  | { kind: 'pong' }
  | { kind: 'error'; errorCode: string }
  | { kind: 'subscribed'; userIds: string[]; since?: string };

export interface ConnectionModel {
  subscribed: Set<string>;
  mayActAs(userId: string): boolean;
  maxSubscriptions: number;
  maxFrameBytes: number;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every answer SPEC §4 allows to one text frame (as the server decodes it), given the
 * connection's subscriptions. More than one only where SPEC leaves a limit to the server.
 */
export function expectedOutcomes(text: string, model: ConnectionModel): Outcome[] {
  if (Buffer.byteLength(text) > model.maxFrameBytes) return [{ kind: 'close', code: 1009 }];
  const invalid: Outcome = { kind: 'error', errorCode: 'VALIDATION_ERROR' };
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return [invalid];
  }
  if (!isPlainObject(message) || !['subscribe', 'unsubscribe', 'ping'].includes(message.type as string)) return [invalid];
  if (message.type === 'ping') return [{ kind: 'pong' }];
  const userIds = message.userIds;
  if (!Array.isArray(userIds) || userIds.length === 0 || !userIds.every((id) => typeof id === 'string' && userIdPattern.test(id))) return [invalid];
  const ids = [...new Set(userIds as string[])];
  if (message.type === 'unsubscribe') return [{ kind: 'none', unsubscribed: ids }];
  const since = message.since;
  const hasSince = Object.hasOwn(message, 'since');
  if (hasSince && !(typeof since === 'string' && /^[0-9]+$/.test(since))) return [invalid];
  const outcome = (): Outcome => {
    if (!ids.every((id) => model.mayActAs(id))) return { kind: 'error', errorCode: 'FORBIDDEN' };
    if (new Set([...model.subscribed, ...ids]).size > model.maxSubscriptions) return invalid;
    return { kind: 'subscribed', userIds: ids, ...(hasSince && { since: since as string }) };
  };
  return hasSince && (since as string).length > maxIdDigits ? [invalid, outcome()] : [outcome()];
}

// ---------------------------------------------------------------- raw frames

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

const closePayload = fc
  .record({
    code: fc.oneof(
      fc.constantFrom(1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1011, 1013, 1014, 1015, 1016, 2999, 3000, 4999, 5000, 0, 65535),
      fc.integer({ min: 0, max: 65535 }),
    ),
    reason: fc.oneof(fc.string({ maxLength: 20 }).map(utf8), fc.uint8Array({ maxLength: 20 })),
  })
  .map(({ code, reason }) => {
    const payload = new Uint8Array(2 + reason.length);
    new DataView(payload.buffer).setUint16(0, code);
    payload.set(reason, 2);
    return payload;
  });

const anyFrame: fc.Arbitrary<ClientFrame> = fc.record({
  fin: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  opcode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  masked: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  payload: fc.oneof(
    textFrame.map(utf8),
    fc.uint8Array({ maxLength: 300 }),
    closePayload,
    fc.constantFrom(new Uint8Array(0), new Uint8Array([3]), utf8('{"type":"ping"}')),
  ),
  lengthForm: fc.constantFrom('shortest', 'shortest', 'shortest', '16', '64'),
  declaredLength: sometimes(fc.oneof(fc.nat(400), fc.constantFrom(125, 126, 65_535, 65_536, 65_537, 2 ** 31, 2 ** 53 - 1, 2 ** 63)), 8),
});

const wellFormed = (opcode: number, payload: Uint8Array): ClientFrame => ({ fin: true, rsv: 0, opcode, masked: true, payload, lengthForm: 'shortest' });

/** Frames right by RFC 6455: text, ping, pong, close (its code and reason may still be wrong). */
const wellFormedFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  { weight: 4, arbitrary: textFrame.map((text) => wellFormed(1, utf8(text))) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(9, 10), fc.uint8Array({ maxLength: 125 })).map(([opcode, payload]) => wellFormed(opcode, payload)) },
  { weight: 1, arbitrary: closePayload.filter((payload) => payload.length <= 125).map((payload) => wellFormed(8, payload)) },
);

/** A few frames in a row: all well formed, or any mix with frames wrong in any header field or length. */
export const rawFrames: fc.Arbitrary<ClientFrame[]> = fc.oneof(
  fc.array(wellFormedFrame, { minLength: 1, maxLength: 4 }),
  fc.array(fc.oneof(wellFormedFrame, anyFrame), { minLength: 1, maxLength: 4 }),
);

/** The close codes a frame sequence may get echoed: those of its own well-formed close frames. */
export function sentCloseCodes(frames: ClientFrame[]): number[] {
  return frames
    .filter((frame) => frame.opcode === 8 && frame.payload.length >= 2 && frame.declaredLength === undefined)
    .map((frame) => (frame.payload[0]! << 8) | frame.payload[1]!);
}
