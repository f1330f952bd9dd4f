/**
 * What the signed-in key may do, from GET /v1/whoami, checked with the server's own rules
 * (src/domain/principal.ts), so that the console offers only what the key is allowed.
 */
import { type Action, can, mayActAs, type Principal } from '../domain/principal.ts';
import type { CallerDescription } from '../domain/whoami.ts';

export type { CallerDescription };

export interface Capabilities {
  who: CallerDescription;
  can(action: Action): boolean;
  /** May the key act as this user (revoke, suspend…)? */
  mayActAs(userId: string): boolean;
}

export function capabilitiesOf(who: CallerDescription): Capabilities {
  const principal: Principal = { kind: who.kind, projectId: who.projectId, actor: who.uid, acl: who.acl, userIds: who.userIds };
  return {
    who,
    can: (action) => can(principal, action),
    mayActAs: (userId) => mayActAs(principal, userId),
  };
}
