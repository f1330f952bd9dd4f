/**
 * Request bodies, read only for authenticated callers (an anonymous one makes the server hold
 * nothing), at most `bodyLimit` bytes each, and all in-flight bodies of the process together
 * within `budget` bytes: past it a request is refused 503 rather than buffered.
 *
 * A refused request whose body is still arriving (413, or a 401 before any byte was read) is
 * answered with `Connection: close`, and the connection stays open until the client has sent
 * the rest (read and discarded, up to a bound): closing earlier makes the kernel reset the
 * connection, and the client loses the answer (Node's fetch: `UND_ERR_SOCKET`).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../domain/errors.ts';
import type { AppEnv } from './env.ts';
import { errorResponse } from './errors.ts';

/** Bytes of request bodies held by the whole process. */
export class BodyBudget {
  private used = 0;

  constructor(readonly capacity: number) {}

  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}

const bodilessMethods = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

/** Bodies are JSON only: anything else is refused up front with a clear message. */
export const requireJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!bodilessMethods.has(c.req.method)) {
    const mediaType = c.req.header('content-type')?.split(';')[0]?.trim();
    if (mediaType !== undefined && !jsonMediaType.test(mediaType)) {
      throw new AppError('VALIDATION_ERROR', 'Content-Type must be application/json', [{ field: 'Content-Type', message: 'must be application/json' }]);
    }
  }
  await next();
};

/** How much of a refused body is read and thrown away before the connection is closed anyway. */
const discardBytes = (bodyLimit: number) => Math.max(8 * 1024 * 1024, 4 * bodyLimit);
const discardMs = 10_000;

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** Reads and drops what is left of a body, up to `maxBytes` or `maxMs`. */
async function discardRest(reader: Reader, maxBytes: number, maxMs: number): Promise<void> {
  let dropped = 0;
  // Cancelling ends the pending read: a client that stops sending is not waited for longer.
  const timer = setTimeout(() => void reader.cancel().catch(() => undefined), maxMs);
  try {
    while (dropped <= maxBytes) {
      const chunk = await reader.read();
      if (chunk.done) return;
      dropped += chunk.value.length;
    }
  } catch {
    // the client went away: nothing left to wait for
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => undefined);
  }
}

/**
 * The answer, with `Connection: close`, whose end waits until the rest of the request body
 * is discarded: the client reads the whole answer while still sending, and sees no reset.
 */
async function answerThenClose(response: Response, reader: Reader, bodyLimit: number): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const headers = new Headers(response.headers);
  headers.set('connection', 'close');
  headers.set('content-length', String(bytes.length));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(bytes);
      await discardRest(reader, discardBytes(bodyLimit), discardMs);
      controller.close();
    },
  });
  return new Response(body, { status: response.status, headers });
}

const hasBody = (c: Context): boolean => !bodilessMethods.has(c.req.method) && c.req.raw.body !== null && (c.req.header('content-length') ?? '') !== '0';

/**
 * Outermost: a request whose body nobody read (refused before it was needed: 401, 404, 429…)
 * is answered so that the client can read the answer (see the module comment).
 */
export function closeAfterUnreadBody(bodyLimit: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const original = c.req.raw;
    const unread = hasBody(c);
    await next();
    if (unread && original.body && !original.bodyUsed && !original.body.locked) {
      c.res = await answerThenClose(c.res, original.body.getReader(), bodyLimit);
    }
  };
}

/** Buffers the body of an authenticated request within the limits; anonymous requests are not read. */
export function readRequestBody(bodyLimit: number, budget: BodyBudget): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds ${bodyLimit} bytes`);
  const busy = () => new AppError('UNAVAILABLE', 'The server is receiving too many request bodies at once; retry shortly');
  return async (c, next) => {
    if (!hasBody(c) || c.get('caller') === undefined) return next();
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    const stream = c.req.raw.body!;
    const reader = stream.getReader();
    const refuse = async (error: AppError) => {
      if (error.code === 'UNAVAILABLE') c.header('retry-after', '1');
      return answerThenClose(errorResponse(c, error), reader, bodyLimit);
    };
    if (declared > bodyLimit) return refuse(tooLarge());
    // A declared length is reserved up front; a chunked body as it arrives.
    let reserved = Number.isFinite(declared) ? declared : 0;
    if (!budget.tryTake(reserved)) return refuse(busy());
    try {
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read().catch(() => {
          throw new AppError('VALIDATION_ERROR', 'The request body ended early');
        });
        if (done) break;
        size += value.length;
        if (size > bodyLimit) return await refuse(tooLarge());
        if (size > reserved) {
          if (!budget.tryTake(size - reserved)) return await refuse(busy());
          reserved = size;
        }
        chunks.push(value);
      }
      const body = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        body.set(chunk, offset);
        offset += chunk.length;
      }
      c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers: c.req.raw.headers, body });
      await next();
    } finally {
      budget.release(reserved);
    }
  };
}
