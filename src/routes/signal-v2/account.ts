/**
 * The calling Signal device. Basic auth names it (`identifier.deviceId:<key>`); with Bearer the
 * routes that act as a device take `?identifier=&deviceId=` instead (device 1 by default).
 */
import type { MiddlewareHandler } from 'hono';
import { AppError, invalid } from '../../domain/errors.ts';
import type { SignalAccount } from '../../domain/signal-account.ts';
import type { AppEnv } from '../../http/env.ts';
import { basicCredentials } from './credentials.ts';

/** Runs after authentication succeeded: puts the Basic account on the context for the handlers. */
export const basicAccount: MiddlewareHandler<AppEnv> = async (c, next) => {
  const basic = basicCredentials(c);
  if (basic) c.set('signalAccount', basic.account);
  await next();
};

export function callingAccount(basic: SignalAccount | undefined, query: { identifier?: string; deviceId?: number }): SignalAccount {
  if (basic) {
    if (query.identifier !== undefined && query.identifier !== basic.identifier) throw invalid('identifier', 'differs from the Basic auth account');
    if (query.deviceId !== undefined && query.deviceId !== basic.deviceId) throw invalid('deviceId', 'differs from the Basic auth device');
    return basic;
  }
  if (query.identifier === undefined) {
    throw new AppError('VALIDATION_ERROR', 'identifier is required with Bearer auth (or use Basic auth identifier.deviceId:<key>)', [
      { field: 'identifier', message: 'required with Bearer auth' },
    ]);
  }
  return { identifier: query.identifier, deviceId: query.deviceId ?? 1 };
}
