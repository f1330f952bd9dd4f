/** Who is calling: every request resolves to one principal before any route runs. */
import { AppError } from './errors.ts';
import { matchesPattern } from './user-patterns.ts';

export const actions = [
  'keys.register',
  'keys.rotate',
  'keys.revoke',
  'keys.read',
  'bundles.fetch',
  'backups.write',
  'backups.read',
  'audit.read',
  'events.subscribe',
  'apiKeys.manage',
  'publicKeys.read',
  'publicKeys.write',
  'publicKeys.generate',
  'metrics.read',
  'transparency.read',
  'anchors.write',
  '*',
] as const;

export type Action = (typeof actions)[number];

export interface Principal {
  kind: 'master' | 'apiKey';
  projectId: string;
  /** The API key's uid; `master` for the master key. */
  actor: string;
  acl: readonly string[];
  /** Patterns with `*` wildcards limiting the users the caller may act as. */
  userIds: readonly string[];
  /** An API key's expiry (RFC 3339), if any: long-lived connections end there. */
  expiresAt?: string | null;
}

/** What a domain operation needs to know about its caller. */
export interface Caller {
  principal: Principal;
  projectId: string;
  ipAddress: string | null;
}

export const masterPrincipal = (projectId: string): Principal => ({
  kind: 'master',
  projectId,
  actor: 'master',
  acl: ['*'],
  userIds: ['*'],
});

export function can(principal: Principal, action: Action): boolean {
  return principal.acl.includes('*') || principal.acl.includes(action);
}

export function requireAction(principal: Principal, action: Action): void {
  if (!can(principal, action)) throw new AppError('FORBIDDEN', `This key lacks the action ${action}`);
}

export function mayActAs(principal: Principal, userId: string): boolean {
  return principal.userIds.some((pattern) => matchesPattern(pattern, userId));
}

/** Registering, rotating, revoking, backing up… are allowed only for the key's own users. */
export function requireActAs(principal: Principal, userId: string): void {
  if (!mayActAs(principal, userId)) throw new AppError('FORBIDDEN', `This key may not act as user ${userId}`);
}
