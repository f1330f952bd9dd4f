/**
 * Error answers are checked by their code, not only their status (SPEC §6): one call checks the
 * status, the envelope and its `errorCode` together, so that a failure shows all three.
 *
 * @example
 * await expectError(await t.call('GET', '/v1/keys/bundle/nobody'), 404, 'NOT_FOUND');
 */
import { expect } from 'vitest';
import type { ErrorCode } from '../../src/domain/errors.ts';

/** A `TestResponse` (test/helpers/app.ts) or a fetch `Response` (its body is read from a clone). */
export async function expectError(response: Response | { status: number; body: any }, status: number, errorCode: ErrorCode): Promise<void> {
  const body =
    response instanceof Response
      ? await response
          .clone()
          .json()
          .catch(() => undefined)
      : response.body;
  expect({ status: response.status, success: body?.success, errorCode: body?.errorCode }).toEqual({ status, success: false, errorCode });
}
