/**
 * A WebSocket outlives the check made at its upgrade: on each heartbeat the API keys of open
 * connections are authenticated again, so a revoked or expired key, or one that lost
 * `events.subscribe` or a subscribed user, stops receiving events (close 1008).
 */
import { AppError } from '../domain/errors.ts';
import { can, mayActAs, type Principal } from '../domain/principal.ts';
import type { PushConnection } from './connection.ts';
import { closeCodes } from './protocol.ts';

export type Revalidate = (token: string, projectId: string) => Promise<Principal>;

export async function revalidateKeys(connections: ReadonlyMap<PushConnection, { token: string }>, revalidate: Revalidate): Promise<void> {
  const byToken = new Map<string, PushConnection[]>();
  for (const [connection, { token }] of connections) {
    if (connection.principal.kind !== 'apiKey') continue; // the master key does not change while running
    const group = byToken.get(token);
    if (group) group.push(connection);
    else byToken.set(token, [connection]);
  }
  for (const [token, group] of byToken) {
    let principal: Principal | undefined;
    try {
      principal = await revalidate(token, group[0]!.projectId);
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'UNAUTHORIZED')) continue; // storage hiccup: try next time
    }
    for (const connection of group) {
      const allowed =
        principal !== undefined &&
        can(principal, 'events.subscribe') &&
        [...connection.subscriptions.keys()].every((userId) => mayActAs(principal, userId));
      if (!allowed) connection.close(closeCodes.policyViolation, 'The API key no longer allows this subscription');
    }
  }
}
