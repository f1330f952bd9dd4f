/**
 * Property-based fuzzing of the push channel, GET /v1/events (SPEC §4), on a spawned server:
 * every client frame (text, binary, fragmented, control, raw and malformed frames, frames at the
 * size limit), bursts of subscribe/unsubscribe checked against a model, and the upgrade request
 * itself. Nothing crashes or hangs; every answer is a SPEC §4 message (checked against an oracle,
 * push-fuzz-cases.ts) or a close with the proper code; upgrades answer 101 or 4xx in the error
 * envelope. After each property the server still serves HTTP and its other WebSocket clients.
 * `npm run fuzz` runs it long (FUZZ_RUNS); the suite runs a short pass.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey } from '../helpers/app.ts';
import { makePreKeys, registration } from '../helpers/keys.ts';
import { createDbPath, removeDir, seedApiKeys, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { type ConnectionModel, expectedOutcomes, fragmentCuts, type Outcome, rawFrames, sentCloseCodes, sometimes, textFrame } from './push-fuzz-cases.ts';
import {
  completeBody,
  decodeServerFrames,
  encodeClientFrame,
  errorCodes,
  framesSent,
  parseHttpHead,
  RawConnection,
  RecordingSocket,
  serverMessageProblem,
  type ServerMessage,
} from './push-wire.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 25);
/** Per test: generous for the long run, which spends most of its time in round trips. */
const timeout = 60_000 + runs * 250;

const maxFrameBytes = 65_536;
const maxSubscriptions = 4;
const modelUsers = ['m0', 'm1', 'm2', 'm3'];
/** Always subscribed on a model connection: the last event of a probe, after which all others have arrived. */
const controlUser = 'ctl';
/** The bystander's user: events for it must keep reaching the bystander whatever the fuzzer did. */
const watchedUser = 'watch';

const { dir, dbPath } = createDbPath();
let server: ServerProcess;
let fuzzKey: string; // events.subscribe as fz_*
let modelKey: string; // events.subscribe as the model users and ctl
let otherProjectKey: string;
let noSubscribeKey: string;
let revokedKey: string;
let bystander: RecordingSocket;
const preKeysPerRefill = 100;
/** One-time pre-keys each registered user has left: a bundle fetch takes one. */
const storedPreKeys = new Map<string, number>();
const casesTried: Record<string, number> = {};
const count = (property: string) => (casesTried[property] = (casesTried[property] ?? 0) + 1);
/** What the cases got, by property: shows the run reached the interesting answers, not only errors. */
const outcomes: Record<string, Record<string, number>> = {};
const tally = (property: string, outcome: string) => {
  const byOutcome = (outcomes[property] ??= {});
  byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
};

beforeAll(async () => {
  [fuzzKey, modelKey, otherProjectKey, noSubscribeKey, revokedKey] = (await seedApiKeys(dbPath, [
    { acl: ['events.subscribe'], userIds: ['fz_*'] },
    { acl: ['events.subscribe'], userIds: [...modelUsers, controlUser] },
    { projectId: 'proj_b', acl: ['events.subscribe'] },
    { acl: ['keys.read', 'bundles.fetch'] },
    { acl: ['*'], revoked: true },
  ])) as [string, string, string, string, string];
  server = await startServerProcess({
    dbPath,
    startTimeoutMs: 120_000, // the long run shares a loaded machine
    args: [
      '--push-max-subscriptions',
      String(maxSubscriptions),
      '--push-max-frame-bytes',
      String(maxFrameBytes),
      // Every bundle fetch raises prekeys.low: the model test's way of asking "who is subscribed?"
      '--prekey-low-threshold',
      '1000000',
    ],
  });
  for (const userId of [...modelUsers, controlUser, watchedUser]) {
    const registered = await api('POST', '/v1/keys/register', registration(userId, preKeysPerRefill).body);
    expect(registered.status).toBe(201);
    storedPreKeys.set(userId, preKeysPerRefill);
  }
  bystander = await openClient(masterKey);
  bystander.send(JSON.stringify({ type: 'subscribe', userIds: [watchedUser] }));
  await bystander.waitUntil(() => bystander.messages().some((message) => message.type === 'subscribed'), 'the bystander subscription');
}, 300_000);

afterAll(async () => {
  await bystander?.close();
  server?.kill('SIGKILL');
  await server?.exited;
  removeDir(dir);
  const total = Object.values(casesTried).reduce((sum, value) => sum + value, 0);
  console.log(
    `push-frames fuzz: ${total} cases, ${framesSent.count} WebSocket frames sent (FUZZ_RUNS=${runs}) ${JSON.stringify(casesTried)}\noutcomes: ${JSON.stringify(outcomes)}`,
  );
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${masterKey}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const openClient = (token: string) => RecordingSocket.open(`${server.wsUrl}/v1/events`, { authorization: `Bearer ${token}` });

/** Causes exactly one event for the user: a bundle fetch (prekeys.low / exhausted), or a refill once none is left. */
async function causeEvent(userId: string): Promise<void> {
  const stored = storedPreKeys.get(userId)!;
  if (stored === 0) {
    const rotated = await api('POST', '/v1/keys/rotate', { userId, newOneTimePreKeys: makePreKeys(preKeysPerRefill) });
    expect(rotated.status).toBe(200);
    storedPreKeys.set(userId, preKeysPerRefill);
  } else {
    const fetched = await api('GET', `/v1/keys/bundle/${userId}`);
    expect(fetched.status).toBe(200);
    storedPreKeys.set(userId, stored - 1);
  }
}

let sentinels = 0;

/**
 * Sends a subscribe the key (limited to other users) may not make, for a user named nowhere else, and returns the index of
 * its answer: frames are answered in order (pings and malformed ones at once, the others queued),
 * so every answer to what was sent before lies between `from` and that index.
 */
async function barrier(client: RecordingSocket, from: number): Promise<number> {
  const sentinel = `zz_s${++sentinels}x`;
  client.send(JSON.stringify({ type: 'subscribe', userIds: [sentinel] }));
  const isAnswer = (text: string) => {
    try {
      const message = JSON.parse(text) as ServerMessage;
      return message.type === 'error' && message.errorCode === 'FORBIDDEN' && String(message.error).includes(sentinel);
    } catch {
      return false;
    }
  };
  let index = -1;
  let scanned = from;
  await client.waitUntil(() => {
    for (; index < 0 && scanned < client.texts.length; scanned++) if (isAnswer(client.texts[scanned]!)) index = scanned;
    return index >= 0;
  }, `the answer to the sentinel ${sentinel}`);
  return index;
}

function expectServerMessages(texts: string[], where: string): ServerMessage[] {
  for (const text of texts) expect(serverMessageProblem(text), `${where}: ${text.slice(0, 300)}`).toBeUndefined();
  return texts.map((text) => JSON.parse(text) as ServerMessage);
}

async function pushConnectionsGauge(): Promise<number> {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${masterKey}` } });
  const match = /^prekeyd_push_connections (\d+)$/m.exec(await response.text());
  return Number(match?.[1]);
}

/** The server survived: alive, serving HTTP and other WebSocket clients, no connection leaked, nothing logged as an error. */
async function expectServerHealthy(): Promise<void> {
  expect(server.child.exitCode, 'server process').toBeNull();
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  const from = bystander.texts.length;
  bystander.send('{"type":"ping"}');
  await causeEvent(watchedUser);
  await bystander.waitUntil(() => bystander.messages(from).some((message) => message.type === 'pong'), 'the bystander pong');
  await bystander.waitUntil(
    () => bystander.messages(from).some((message) => message.type === 'event' && message.userId === watchedUser),
    'the bystander event',
  );
  const fresh = await openClient(fuzzKey);
  fresh.send(JSON.stringify({ type: 'subscribe', userIds: ['fz_healthy'] }));
  await fresh.waitUntil(() => fresh.messages().some((message) => message.type === 'subscribed'), 'a new client subscription');
  await fresh.close();
  const deadline = Date.now() + 10_000;
  while ((await pushConnectionsGauge()) !== 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await pushConnectionsGauge(), 'open push connections (the bystander only)').toBe(1);
  expect(server.stdout.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  expect(server.stderr).toEqual([]);
}

/** One fuzz client of the `fz_*` key, reopened after the server closes it, with the oracle's view of its subscriptions. */
class FuzzConnection implements ConnectionModel {
  subscribed = new Set<string>();
  readonly maxSubscriptions = maxSubscriptions;
  readonly maxFrameBytes = maxFrameBytes;
  client: RecordingSocket | undefined;

  /** `property` names the test in the outcome tally. */
  constructor(readonly property: string) {}

  mayActAs(userId: string): boolean {
    return userId.startsWith('fz_');
  }

  /** An open client with room for one more subscribe to succeed. */
  async ready(): Promise<RecordingSocket> {
    if (!this.client?.open) {
      this.client = await openClient(fuzzKey);
      this.subscribed.clear();
    }
    if (this.subscribed.size >= maxSubscriptions - 1) {
      this.client.send(JSON.stringify({ type: 'unsubscribe', userIds: [...this.subscribed] }));
      this.subscribed.clear();
    }
    return this.client;
  }

  /** Sends one text frame and checks the answer against every outcome the oracle allows. */
  async sendText(text: string, cuts: number[] = []): Promise<void> {
    const client = await this.ready();
    const outcomes = expectedOutcomes(Buffer.from(text, 'utf8').toString('utf8'), this);
    const where = `frame ${JSON.stringify(text.slice(0, 200))} (${Buffer.byteLength(text)} bytes)`;
    const from = client.texts.length;
    client.send(text, { cuts });
    const close = outcomes.find((outcome) => outcome.kind === 'close');
    if (close) {
      tally(this.property, `close ${close.code}`);
      expect((await client.waitClosed()).code, where).toBe(close.code);
      expect(client.texts.slice(from), where).toEqual([]);
      return;
    }
    const answers = expectServerMessages(client.texts.slice(from, await barrier(client, from)), where);
    const matched = outcomes.find((outcome) => matches(outcome, answers));
    expect(matched, `${where}: got ${JSON.stringify(answers)}, expected one of ${JSON.stringify(outcomes)}`).toBeDefined();
    if (matched) tally(this.property, matched.kind === 'error' ? `error ${matched.errorCode}` : matched.kind);
    if (matched?.kind === 'subscribed') for (const userId of matched.userIds) this.subscribed.add(userId);
    if (matched?.kind === 'none') for (const userId of matched.unsubscribed) this.subscribed.delete(userId);
  }

  async expectClosed(code: number, where: string): Promise<void> {
    const client = this.client!;
    const from = client.texts.length;
    expect((await client.waitClosed()).code, where).toBe(code);
    expect(client.texts.slice(from), where).toEqual([]);
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}

function matches(outcome: Outcome, answers: ServerMessage[]): boolean {
  if (outcome.kind === 'none') return answers.length === 0;
  if (answers.length !== 1) return false;
  const [answer] = answers as [ServerMessage];
  if (outcome.kind === 'pong') return answer.type === 'pong';
  if (outcome.kind === 'error') return answer.type === 'error' && answer.errorCode === outcome.errorCode;
  if (outcome.kind !== 'subscribed' || answer.type !== 'subscribed') return false;
  const sameUsers = [...(answer.userIds as string[])].sort().join('\n') === [...outcome.userIds].sort().join('\n');
  // The cursor is `since`, or the latest event id when `since` is past it (the model test checks which).
  return sameUsers && (outcome.since === undefined || BigInt(answer.cursor as string) <= BigInt(outcome.since));
}

async function withFuzzConnection(name: string, property: (connection: FuzzConnection) => Promise<void>): Promise<void> {
  const connection = new FuzzConnection(name);
  try {
    await property(connection);
  } finally {
    await connection.close();
  }
  await expectServerHealthy();
}

describe('push channel fuzzing: client frames', () => {
  it('answers any text frame with the SPEC §4 message the oracle expects, on a connection that stays usable', { timeout }, async () => {
    await withFuzzConnection('text frames', async (connection) => {
      const controlFrame = fc.record({ kind: fc.constantFrom('ping', 'pong'), payload: fc.uint8Array({ maxLength: 125 }) });
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 12, arbitrary: textFrame.map((text) => ({ kind: 'text' as const, text })) }, { weight: 1, arbitrary: controlFrame }),
          async (frame) => {
            count('text frames');
            if (frame.kind === 'text') return connection.sendText(frame.text);
            tally('text frames', `control ${frame.kind}`);
            // Control frames are the socket's business: a ping gets its pong, neither gets a message.
            const client = await connection.ready();
            const from = client.texts.length;
            const pongs = client.pongs.length;
            if (frame.kind === 'ping') client.socket.ping(Buffer.from(frame.payload));
            else client.socket.pong(Buffer.from(frame.payload));
            if (frame.kind === 'ping') {
              await client.waitUntil(() => client.pongs.length > pongs, 'the pong of a control ping');
              expect(client.pongs[pongs]!.equals(Buffer.from(frame.payload))).toBe(true);
            }
            expect(client.texts.slice(from, await barrier(client, from))).toEqual([]);
          },
        ),
        { numRuns: runs },
      );
    });
  });

  it('accepts messages up to the frame limit, whole or fragmented, and closes 1009 past it', { timeout }, async () => {
    await withFuzzConnection('size limit', async (connection) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: -48, max: 48 }),
          fc.constantFrom('ping-spaces', 'ping-string', 'subscribe-repeated'),
          fc.constantFrom('a', 'é', '€', '😀'),
          fragmentCuts,
          async (delta, shape, padChar, cuts) => {
            count('size limit');
            const text = messageOfSize(maxFrameBytes + delta, shape, padChar);
            expect(Buffer.byteLength(text)).toBe(maxFrameBytes + delta);
            await connection.sendText(text, cuts);
          },
        ),
        { numRuns: runs },
      );
    });
  });

  it('closes 1003 on a binary message, 1007 on text that is not UTF-8, 1009 on either past the limit', { timeout }, async () => {
    await withFuzzConnection('binary and bad UTF-8', async (connection) => {
      const payload = fc.oneof(
        fc.uint8Array({ maxLength: 2_000 }),
        fc.integer({ min: maxFrameBytes - 8, max: maxFrameBytes + 8 }).map((size) => new Uint8Array(size).fill(0x7b)),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('binary', 'bad-utf8'), payload, fragmentCuts, async (kind, bytes, cuts) => {
          count('binary and bad UTF-8');
          const client = await connection.ready();
          // 0xFF never occurs in UTF-8.
          const data = kind === 'binary' ? Buffer.from(bytes) : Buffer.concat([Buffer.from(bytes).subarray(1), Buffer.from([0xff])]);
          client.send(data, { binary: kind === 'binary', cuts });
          const code = data.length > maxFrameBytes ? 1009 : kind === 'binary' ? 1003 : 1007;
          tally('binary and bad UTF-8', `close ${code}`);
          await connection.expectClosed(code, `${kind} message of ${data.length} bytes`);
        }),
        { numRuns: runs },
      );
    });
  });

  it('survives raw frames of any shape (bad opcodes, RSV bits, unmasked, lying lengths, close codes) and never hangs', { timeout }, async () => {
    const handshake = Buffer.from(
      `GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')}\r\nAuthorization: Bearer ${fuzzKey}\r\n\r\n`,
    );
    await fc.assert(
      fc.asyncProperty(rawFrames, fc.boolean(), sometimes(fc.uint8Array({ minLength: 1, maxLength: 8 }), 4), async (frames, pipelined, tail) => {
        count('raw frames');
        const connection = await RawConnection.open(server.port);
        try {
          const bytes = Buffer.concat([...frames.map(encodeClientFrame), tail ?? new Uint8Array(0)]);
          if (pipelined) {
            await connection.write(Buffer.concat([handshake, bytes]));
          } else {
            await connection.write(handshake);
            expect(await connection.waitFor((received) => parseHttpHead(received) !== undefined)).toBe(true);
            await connection.write(bytes);
          }
          connection.end();
          expect(await connection.waitFor(() => false), 'the server closes its side after ours').toBe(true);
          const head = parseHttpHead(connection.received);
          expect(head?.status).toBe(101);
          const { frames: answers, rest } = decodeServerFrames(head!.rest);
          const closeFrame = answers.find((answer) => answer.opcode === 8);
          tally('raw frames', closeFrame ? `close ${closeFrame.payload.length > 0 ? closeFrame.payload.readUInt16BE(0) : 'empty'}` : 'no close frame');
          expect(rest.length, 'no truncated frame').toBe(0);
          // Protocol error, binary, not UTF-8, policy, too big, try later; or the echo of a close frame we sent.
          const allowedCloseCodes = [1002, 1003, 1007, 1008, 1009, 1013, ...sentCloseCodes(frames)];
          answers.forEach((answer, index) => {
            expect(answer.masked || answer.rsv !== 0, 'server frames are unmasked, without RSV bits').toBe(false);
            expect([1, 8, 9, 10]).toContain(answer.opcode);
            if (answer.opcode === 1) expectServerMessages([answer.payload.toString('utf8')], 'raw frames');
            if (answer.opcode === 8) {
              expect(index, 'nothing after the close frame').toBe(answers.length - 1);
              if (answer.payload.length > 0) expect(allowedCloseCodes).toContain(answer.payload.readUInt16BE(0));
            }
          });
        } finally {
          connection.destroy();
        }
      }),
      { numRuns: runs },
    );
    await expectServerHealthy();
  });
});

/** A message of exactly `size` bytes: a padded ping, or a subscribe that repeats one user. */
function messageOfSize(size: number, shape: string, padChar: string): string {
  const fill = (prefix: string, suffix: string, unit: string) => {
    const room = size - Buffer.byteLength(prefix + suffix);
    const middle = unit.repeat(Math.floor(room / Buffer.byteLength(unit)));
    return prefix + middle + 'a'.repeat(room - Buffer.byteLength(middle)) + suffix;
  };
  if (shape === 'ping-spaces') return fill('{"type":"ping"}', '', ' ');
  if (shape === 'ping-string') return fill('{"type":"ping","pad":"', '"}', padChar);
  const repeated = '"fz_1",';
  const prefix = '{"type":"subscribe","userIds":[';
  const suffix = '"fz_1"]}';
  const repeats = Math.floor((size - prefix.length - suffix.length) / repeated.length);
  const text = prefix + repeated.repeat(repeats) + suffix;
  return text.slice(0, -1) + ' '.repeat(size - text.length) + '}';
}

describe('push channel fuzzing: subscriptions against a model', () => {
  const allowedUser = fc.constantFrom(...modelUsers);
  type Operation =
    | { op: 'subscribe'; userIds: string[]; since: 'none' | 'cursor' | 'ahead' }
    | { op: 'unsubscribe'; userIds: string[] }
    | { op: 'ping' }
    | { op: 'junk'; text: string };
  const operation: fc.Arbitrary<Operation> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('subscribe' as const),
        userIds: fc.array(fc.oneof({ weight: 6, arbitrary: allowedUser }, { weight: 1, arbitrary: fc.constant('intruder') }), { minLength: 1, maxLength: 4 }),
        since: fc.constantFrom('none', 'none', 'cursor', 'ahead'),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('unsubscribe' as const),
        userIds: fc.array(fc.oneof(allowedUser, fc.constant('never_subscribed')), { minLength: 1, maxLength: 4 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'ping' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('{', 'null', '{"type":"unsubscribe"}', '{"type":"subscribe","userIds":["m0"],"since":"x"}')
        .map((text) => ({ op: 'junk' as const, text })),
    },
  );

  const sinceAhead = '9000000000000000000';

  interface ModelConnection {
    client: RecordingSocket;
    /** The cursor of the control subscription: a `since` for the model's subscribes that replays nothing older. */
    cursor: string;
  }

  /** What the server must answer to a subscribe, given the model's users (ctl included). */
  function predictSubscribe(subscribed: Set<string>, userIds: string[]): { kind: 'subscribed' | 'FORBIDDEN' | 'VALIDATION_ERROR'; userIds: string[] } {
    const ids = [...new Set(userIds)];
    if (ids.includes('intruder')) return { kind: 'FORBIDDEN', userIds: ids };
    if (new Set([...subscribed, ...ids, controlUser]).size > maxSubscriptions) return { kind: 'VALIDATION_ERROR', userIds: ids };
    return { kind: 'subscribed', userIds: ids };
  }

  const describeAnswer = (message: ServerMessage) =>
    message.type === 'subscribed' ? `subscribed:${[...(message.userIds as string[])].sort().join(',')}` : `${message.type}:${String(message.errorCode ?? '')}`;

  /**
   * Sends the operations back to back without waiting, then checks that the answers are the
   * model's, in order: subscribe results are queued and answered in order, pings and junk at once.
   */
  async function burst(connection: ModelConnection, subscribed: Set<string>, operations: Operation[]): Promise<void> {
    const { client } = connection;
    const from = client.texts.length;
    const queued: string[] = [];
    let pings = 0;
    let immediateErrors = 0;
    for (const operation of operations) {
      if (operation.op === 'ping') {
        pings++;
        client.send('{"type":"ping"}');
      } else if (operation.op === 'junk') {
        immediateErrors++;
        client.send(operation.text);
      } else if (operation.op === 'unsubscribe') {
        client.send(JSON.stringify({ type: 'unsubscribe', userIds: operation.userIds }));
        for (const userId of operation.userIds) subscribed.delete(userId);
      } else {
        // `ahead`: a cursor past every stored event (a client whose server lost its newest events) must still get live events.
        const since = { none: undefined, cursor: connection.cursor, ahead: sinceAhead }[operation.since];
        client.send(JSON.stringify({ type: 'subscribe', userIds: operation.userIds, since }));
        const predicted = predictSubscribe(subscribed, operation.userIds);
        queued.push(predicted.kind === 'subscribed' ? `subscribed:${[...predicted.userIds].sort().join(',')}` : `error:${predicted.kind}`);
        if (predicted.kind === 'subscribed') for (const userId of predicted.userIds) subscribed.add(userId);
      }
    }
    const answers = expectServerMessages(client.texts.slice(from, await barrier(client, from)), 'burst').filter((message) => message.type !== 'event');
    const where = `burst ${JSON.stringify(operations)} → ${JSON.stringify(answers)}`;
    expect(answers.filter((message) => message.type === 'pong').length, where).toBe(pings);
    // Immediate errors (junk) interleave with the queued answers; everything else keeps its order.
    const notPong = answers.filter((message) => message.type !== 'pong').map(describeAnswer);
    const validationErrors = notPong.filter((answer) => answer === 'error:VALIDATION_ERROR').length;
    expect(validationErrors, where).toBe(immediateErrors + queued.filter((answer) => answer === 'error:VALIDATION_ERROR').length);
    const ordered = (list: string[]) => list.filter((answer) => answer !== 'error:VALIDATION_ERROR');
    expect(ordered(notPong), where).toEqual(ordered(queued));
  }

  /** Asks the server who is subscribed: one event per user, and only the subscribed ones arrive. */
  async function probe(connection: ModelConnection, subscribed: Set<string>): Promise<void> {
    const { client } = connection;
    const from = await barrier(client, client.texts.length);
    for (const userId of modelUsers) await causeEvent(userId);
    await causeEvent(controlUser);
    // Events are pushed in commit order: once ctl's has arrived, every earlier one has too.
    const events = () => client.messages(from).filter((message) => message.type === 'event');
    await client.waitUntil(() => events().some((event) => event.userId === controlUser), 'the control event of a probe');
    const received = new Set(events().map((event) => event.userId as string));
    received.delete(controlUser);
    expect([...received].sort(), 'users whose events arrived = the model').toEqual([...subscribed].sort());
  }

  class BurstCommand implements fc.AsyncCommand<Set<string>, ModelConnection> {
    constructor(readonly operations: Operation[]) {}
    check = () => true;
    run = (subscribed: Set<string>, connection: ModelConnection) => burst(connection, subscribed, this.operations);
    toString = () => `burst(${JSON.stringify(this.operations)})`;
  }

  class ProbeCommand implements fc.AsyncCommand<Set<string>, ModelConnection> {
    check = () => true;
    run = (subscribed: Set<string>, connection: ModelConnection) => probe(connection, subscribed);
    toString = () => 'probe';
  }

  /** A model-key client subscribed to the control user, and the model's (empty) subscriptions. */
  async function withModelConnection(run: (connection: ModelConnection, subscribed: Set<string>) => Promise<void>): Promise<void> {
    const client = await openClient(modelKey);
    try {
      client.send(JSON.stringify({ type: 'subscribe', userIds: [controlUser] }));
      await client.waitUntil(() => client.messages().some((message) => message.type === 'subscribed'), 'the control subscription');
      const cursor = client.messages().find((message) => message.type === 'subscribed')!.cursor as string;
      await run({ client, cursor }, new Set<string>());
    } finally {
      await client.close();
    }
  }

  it('keeps exactly the subscriptions the model predicts through rapid subscribe/unsubscribe sequences', { timeout: timeout * 2 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.commands(
          [
            fc.array(operation, { minLength: 1, maxLength: 1 }).map((operations) => new BurstCommand(operations)),
            fc.array(operation, { minLength: 2, maxLength: 40 }).map((operations) => new BurstCommand(operations)),
            fc.constant(new ProbeCommand()),
          ],
          { maxCommands: 8 },
        ),
        async (commands) => {
          count('subscription model');
          await withModelConnection(async (connection, subscribed) => {
            await fc.asyncModelRun(() => ({ model: subscribed, real: connection }), commands);
            await probe(connection, subscribed);
          });
        },
      ),
      { numRuns: runs },
    );
    await expectServerHealthy();
  });

  it('answers every frame of a flood past the request queue, and keeps the subscriptions its answers report', { timeout }, async () => {
    const frame = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.array(fc.constantFrom(...modelUsers), { minLength: 1, maxLength: 2 }).map((userIds) => JSON.stringify({ type: 'subscribe', userIds })),
      },
      { weight: 1, arbitrary: fc.constant('{"type":"ping"}') },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 60, maxLength: 300 }), fc.constantFrom('wait', 'wait', 'wait', 'drop'), async (frames, then) => {
        count('flood');
        await withModelConnection(async (connection, subscribed) => {
          const { client } = connection;
          const from = client.texts.length;
          for (const text of frames) client.send(text);
          if (then === 'drop') {
            // Gone mid-flood, without a closing handshake: the server must let go of it (checked by the gauge afterwards).
            client.socket.terminate();
            tally('flood', 'dropped mid-flood');
            return;
          }
          // Every frame here has exactly one answer; a subscribe past the queue gets RATE_LIMITED at once.
          await client.waitUntil(() => client.texts.length - from >= frames.length, `${frames.length} answers`, 15_000);
          const answers = expectServerMessages(client.texts.slice(from), 'flood');
          expect(answers.length).toBe(frames.length);
          expect(answers.filter((answer) => answer.type === 'pong').length).toBe(frames.filter((text) => text.includes('ping')).length);
          const kinds = answers.filter((answer) => answer.type !== 'pong').map((answer) => (answer.type === 'error' ? answer.errorCode : answer.type));
          expect(
            kinds.every((kind) => ['subscribed', 'VALIDATION_ERROR', 'RATE_LIMITED'].includes(kind as string)),
            JSON.stringify(kinds),
          ).toBe(true);
          tally('flood', kinds.includes('RATE_LIMITED') ? 'queue overflowed' : 'queue kept up');
          for (const answer of answers) if (answer.type === 'subscribed') for (const userId of answer.userIds as string[]) subscribed.add(userId);
          expect(subscribed.size + 1, 'the subscription limit holds').toBeLessThanOrEqual(maxSubscriptions);
          await probe(connection, subscribed);
        });
      }),
      { numRuns: runs },
    );
    await expectServerHealthy();
  });

  it('delivers live events after a subscribe whose since is past every stored event (found by the model)', async () => {
    await withModelConnection(async (connection, subscribed) => {
      const from = connection.client.texts.length;
      await burst(connection, subscribed, [{ op: 'subscribe', userIds: ['m1'], since: 'ahead' }]);
      const answer = connection.client.messages(from).find((message) => message.type === 'subscribed')!;
      expect(BigInt(answer.cursor as string), 'the cursor the subscription really resumes from').toBeLessThan(BigInt(sinceAhead));
      await probe(connection, subscribed);
    });
  });
});

describe('push channel fuzzing: the upgrade request', () => {
  const port = () => server.port;
  const validTokens = () => [masterKey, fuzzKey, modelKey, otherProjectKey];
  const tokenArbitrary = () =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(masterKey, fuzzKey, modelKey, otherProjectKey, noSubscribeKey, revokedKey) },
      { weight: 1, arbitrary: fc.constantFrom('', 'pkd_0000', 'x'.repeat(5_000), 'null', `${masterKey}x`, masterKey.toUpperCase()) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    );
  const headerValue = fc.stringMatching(/^[\x21-\x7e\xa0-\xff]([\x20-\x7e\xa0-\xff\t]{0,40}[\x21-\x7e\xa0-\xff])?$/);
  const headerName = fc.oneof(
    fc.constantFrom(
      'Sec-WebSocket-Protocol',
      'Sec-WebSocket-Extensions',
      'Origin',
      'Authorization',
      'X-Project-Id',
      'Cookie',
      'X-Forwarded-For',
      'Upgrade',
      'Connection',
      'Sec-WebSocket-Key',
      'Sec-WebSocket-Version',
    ),
    // Not these: node:http itself answers them (duplicate Host/Content-Length → 400, Expect → 417/100) before prekeyd sees the request.
    fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/).filter((name) => !/^(host|content-length|transfer-encoding|expect)$/i.test(name)),
  );
  /** Header values by lower-case name, in order, trimmed as node:http does. */
  const headersOf = (lines: string[]) => {
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    return headers;
  };
  const queryPair = fc.tuple(
    fc.oneof(fc.constantFrom('access_token', 'projectId', 'since', 'userIds', 'type'), fc.string({ maxLength: 8 })),
    fc.oneof(tokenArbitrary(), fc.string({ maxLength: 30 })),
  );

  it('answers 101 (only with a valid key) or 4xx in the error envelope, never 5xx, never a hung socket', { timeout }, async () => {
    /** Each part of the request is right most of the time, so that whole requests often are. */
    const usually = <T>(valid: T, ...others: T[]) =>
      fc.oneof({ weight: 5, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
    const request = fc.record({
      method: usually('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
      path: usually(
        '/v1/events',
        '/v1/events/',
        '/V1/events',
        '//v1/events',
        '/v1/events/../events',
        '/v1/./events',
        '/v1/events%2F',
        '/v1/eventsx',
        '/',
        '/healthz',
        '/v1/keys/list',
        '*',
        'http://prekeyd.invalid/v1/events',
        '/%',
        '/v1/%zz',
      ),
      query: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(queryPair, { minLength: 1, maxLength: 4 }) }),
      rawQuery: sometimes(
        fc.constantFrom('?', '??', '?&&', '?=', '?access_token', '?access_token=', '?%', '?a=%zz', '?;', '?\'"<>', '?access_token=%00', '?projectId=%E0%A4%A'),
        8,
      ),
      credential: fc.oneof(
        { weight: 4, arbitrary: fc.record({ in: fc.constant('header' as const), value: fc.constantFrom(...validTokens()).map((token) => `Bearer ${token}`) }) },
        { weight: 2, arbitrary: fc.record({ in: fc.constant('query' as const), value: fc.constantFrom(...validTokens()) }) },
        {
          weight: 3,
          arbitrary: fc.record({
            in: fc.constantFrom('header' as const, 'query' as const),
            value: fc.oneof(
              tokenArbitrary().map((token) => `Bearer ${token}`),
              tokenArbitrary(),
              fc.constantFrom('Bearer', 'Basic Zm9vOmJhcg==', `bearer ${masterKey}`, `Bearer ${masterKey} extra`, `Bearer  ${fuzzKey}  `, ''),
            ),
          }),
        },
        { weight: 1, arbitrary: fc.constant({ in: 'none' as const, value: '' }) },
      ),
      projectId: sometimes(fc.oneof(fc.constantFrom('default', 'proj_b', ' ', '../x', 'a'.repeat(64), 'a'.repeat(65), 'ü'), headerValue), 3),
      projectIn: fc.constantFrom('header', 'query'),
      connection: usually<string | undefined>('Upgrade', 'upgrade', 'keep-alive, Upgrade', 'UPGRADE', 'Upgrade, close', 'close', 'keep-alive', undefined),
      upgrade: usually<string | undefined>('websocket', 'WebSocket', 'h2c', 'websocket, h2c', 'websocket/13', 'x', undefined),
      key: usually('valid', 'short', 'junk', 'empty', 'absent', 'twice'),
      version: usually<string | undefined>('13', '8', '12', '14', '13, 8', 'abc', undefined),
      extras: fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 5 }) },
      ),
      body: sometimes(fc.uint8Array({ maxLength: 64 }), 8),
    });
    await fc.assert(
      fc.asyncProperty(request, async (spec) => {
        count('upgrade requests');
        const pairs = [...spec.query];
        if (spec.credential.in === 'query') pairs.unshift(['access_token', spec.credential.value]);
        if (spec.projectId !== undefined && spec.projectIn === 'query') pairs.push(['projectId', spec.projectId]);
        const query =
          spec.rawQuery ?? (pairs.length > 0 ? `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}` : '');
        const lines = [`${spec.method} ${spec.path}${query} HTTP/1.1`, `Host: 127.0.0.1:${port()}`];
        if (spec.connection !== undefined) lines.push(`Connection: ${spec.connection}`);
        if (spec.upgrade !== undefined) lines.push(`Upgrade: ${spec.upgrade}`);
        const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
        const keyHeader = { valid: key, short: 'c2hvcnQ=', junk: '!!not base64!!', empty: '', absent: undefined, twice: key }[spec.key];
        if (keyHeader !== undefined) lines.push(`Sec-WebSocket-Key: ${keyHeader}`);
        if (spec.key === 'twice') lines.push(`Sec-WebSocket-Key: ${key}`);
        if (spec.version !== undefined) lines.push(`Sec-WebSocket-Version: ${spec.version}`);
        // Header values stay within what HTTP allows (else node:http refuses the request before prekeyd sees it).
        const headerSafe = (value: string) => value.replace(/[^\x20-\x7e\xa0-\xff\t]/g, '?');
        if (spec.credential.in === 'header') lines.push(`Authorization: ${headerSafe(spec.credential.value)}`);
        if (spec.projectId !== undefined && spec.projectIn === 'header') lines.push(`X-Project-Id: ${headerSafe(spec.projectId)}`);
        for (const [name, value] of spec.extras) lines.push(`${name}: ${value}`);
        if (spec.body) lines.push(`Content-Length: ${spec.body.length}`);
        const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(spec.body ?? [])]);
        const where = JSON.stringify(bytes.toString('latin1').slice(0, 600));

        const connection = await RawConnection.open(port());
        try {
          await connection.write(bytes);
          const answered = await connection.waitFor((received) => {
            const head = parseHttpHead(received);
            return head !== undefined && completeBody(head, spec.method === 'HEAD') !== undefined;
          });
          expect(answered, `an answer within 5 s to ${where}`).toBe(true);
          const head = parseHttpHead(connection.received);
          expect(head, `an HTTP answer to ${where}`).toBeDefined();
          const status = head!.status;
          tally('upgrade requests', String(status));
          expect(status, where).toBeLessThan(500);
          // As node:http reads the head: duplicate Authorization headers are dropped, others joined.
          const headers = headersOf(lines);
          const isUpgrade = /(^|,)\s*upgrade\s*(,|$)/i.test(headers.get('connection')?.join(',') ?? '') && headers.has('upgrade');
          if (status === 101) {
            const authorization = headers.get('authorization')?.[0];
            const token = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : new URLSearchParams(query).get('access_token');
            expect(validTokens(), `101 without a valid key: ${where}`).toContain(token);
            const projectId = headers.get('x-project-id')?.join(', ') ?? new URLSearchParams(query).get('projectId') ?? 'default';
            if (token === masterKey) expect(projectId, `101 for the master key on a bad project: ${where}`).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
            expect(head!.headers['sec-websocket-accept'], where).toBeDefined();
            return;
          }
          if (isUpgrade) expect(status, where).toBeGreaterThanOrEqual(400);
          // Not an upgrade, so not the push channel: @hono/node-server answers the asterisk form
          // (`GET * HTTP/1.1`) itself with an empty 400, before prekeyd's app runs.
          const adapterAnswer = !isUpgrade && spec.path === '*';
          if (adapterAnswer) expect(status, where).toBe(400);
          if (status >= 400 && spec.method !== 'HEAD' && !adapterAnswer) {
            const body = JSON.parse(completeBody(head!, false)!.toString('utf8'));
            expect(body, where).toEqual({
              success: false,
              error: expect.any(String),
              errorCode: expect.any(String),
              ...(body.details && { details: body.details }),
            });
            expect(errorCodes, where).toContain(body.errorCode);
          }
          if (isUpgrade) expect(await connection.waitFor(() => false), `the refused upgrade's socket is closed: ${where}`).toBe(true);
        } finally {
          connection.destroy();
        }
      }),
      { numRuns: runs },
    );
    await expectServerHealthy();
  });

  it('survives malformed HTTP on the upgrade path: an answer below 500 or a close, never a hang', { timeout }, async () => {
    const base = `GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${masterKey}\r\n\r\n`;
    const mutated = fc
      .array(
        fc.record({
          at: fc.nat(),
          insert: fc.constantFrom('\r', '\n', '\0', ' ', ':', '\x01', 'é', '\r\n', '\r\n\r\n', 'GET / HTTP/1.1\r\n', 'X: y\r\n', '\t'),
          remove: fc.nat(3),
        }),
        { minLength: 1, maxLength: 4 },
      )
      .map((edits) =>
        edits.reduce((text, { at, insert, remove }) => {
          const index = at % (text.length + 1);
          return text.slice(0, index) + insert + text.slice(index + remove);
        }, base),
      );
    const malformed = fc.oneof(
      mutated.map((text) => Buffer.from(text, 'utf8')),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text, 'utf8')),
      fc
        .constantFrom(
          base.replace('Host: 127.0.0.1\r\n', ''),
          base.replace('/v1/events', '/v1/events?x=é'),
          base.replace('\r\n\r\n', '\r\nX-Long: ' + 'a'.repeat(20_000) + '\r\n\r\n'),
          base.replace('\r\n\r\n', '\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'),
          base.replace('\r\n\r\n', '\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'),
          base.replace('\r\n\r\n', '\r\nX-Folded: a\r\n b\r\n\r\n'),
          base.replace('HTTP/1.1', 'HTTP/2.0'),
          base.replace('HTTP/1.1', ''),
          'GET /v1/events\r\n\r\n',
          base.slice(0, 40),
        )
        .map((text) => Buffer.from(text, 'utf8')),
    );
    await fc.assert(
      fc.asyncProperty(malformed, async (bytes) => {
        count('malformed HTTP');
        const connection = await RawConnection.open(server.port);
        try {
          await connection.write(bytes);
          connection.end();
          expect(await connection.waitFor(() => false), `closed after ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`).toBe(true);
          const statuses = [...connection.received.toString('latin1').matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((match) => Number(match[1]));
          tally('malformed HTTP', statuses.length > 0 ? statuses.join('+') : 'closed without an answer');
          for (const status of statuses) expect(status).toBeLessThan(500);
        } finally {
          connection.destroy();
        }
      }),
      { numRuns: runs },
    );
    await expectServerHealthy();
  });
});
