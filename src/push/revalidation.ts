/**
 * A WebSocket outlives the check made at its upgrade. Its API key is authenticated again when
 * the store reports the key changed (revoked, deleted, ACL or userIds edited: at once, on every
 * instance) and on each heartbeat, so a key that lost `events.subscribe` or a subscribed user
 * stops receiving events (close 1008). A key still allowed keeps its sockets, with its new rights.
 */
import { AppError } from '../domain/errors.ts';
import { can, mayActAs, type Principal } from '../domain/principal.ts';
import type { PushConnection } from './connection.ts';
import { closeCodes } from './protocol.ts';

export type Revalidate = (token: string, projectId: string) => Promise<Principal>;

export interface ConnectionToken {
  connection: PushConnection;
  token: string;
}

export async function revalidateKeys(entries: Iterable<ConnectionToken>, revalidate: Revalidate): Promise<void> {
  const byToken = new Map<string, PushConnection[]>();
  for (const { connection, token } of entries) {
    if (connection.principal.kind !== 'apiKey') continue; // the master key does not change while running
    const group = byToken.get(token);
    if (group) group.push(connection);
    else byToken.set(token, [connection]);
  }
  await Promise.all(
    [...byToken].map(async ([token, group]) => {
      // Read before authenticating: a change reported meanwhile needs a check of its own.
      const generations = group.map((connection) => connection.rightsCheckGeneration);
      let principal: Principal | undefined;
      try {
        principal = await revalidate(token, group[0]!.projectId);
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'UNAUTHORIZED')) {
          for (const connection of group) connection.recheckFailed(); // storage hiccup: heartbeats try again
          return;
        }
      }
      group.forEach((connection, index) => {
        const allowed =
          principal !== undefined && can(principal, 'events.subscribe') && [...connection.subscriptions.keys()].every((userId) => mayActAs(principal, userId));
        if (allowed) connection.confirmRights(principal!, generations[index]!);
        else connection.close(closeCodes.policyViolation, 'The API key no longer allows this subscription');
      });
    }),
  );
}
