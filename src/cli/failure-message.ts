/**
 * What the user reads when a command cannot start: one line naming the cause and, where there is
 * one, the fix. Errors the user can act on (a port in use, an unreachable database, a directory
 * that cannot be written…) are recognised here; anything else is a bug and keeps its stack.
 */
import { ConfigError } from '../config.ts';
import { MasterKeyError } from '../domain/master-key.ts';
import { DatabaseLockedError } from '../store/sqljs/process-lock.ts';

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
}

const fileProblems: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory (or it cannot hold one)',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

const networkProblems: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is it running, and are host and port right?)',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
};

/** A plain-language reason for an error from Node's socket.listen(). */
function listenFailure(error: SystemError): string {
  const where = `${String(error.address ?? '')}:${String(error.port ?? '')}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is in use by another process (stop it, or pick another with --port; --port 0 takes a free one)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (ports below 1024 need privileges; use a higher --port)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: no network interface has this address (check --host)`;
    default:
      return `cannot listen on ${where}: ${String(error.code)}`;
  }
}

/** A SQLSTATE (five characters) from a PostgreSQL server error. */
const sqlState = (error: SystemError): string | undefined =>
  typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code) && typeof error.message === 'string' ? error.code : undefined;

function postgresFailure(error: SystemError): string | undefined {
  const state = sqlState(error);
  if (state === '28P01') return `PostgreSQL refused the password: ${String(error.message)} (check the user and password in --db)`;
  if (state?.startsWith('28')) return `PostgreSQL refused the connection: ${String(error.message)} (check the user in --db)`;
  if (state === '3D000') return `PostgreSQL: ${String(error.message)} (create it, or fix the database name in --db)`;
  if (state === '3F000') return `PostgreSQL: ${String(error.message)} (create the schema named by search_path first)`;
  if (state) return `PostgreSQL: ${String(error.message)} (${state})`;
  if (error.syscall === 'connect' || error.syscall === 'getaddrinfo') {
    const reason = networkProblems[String(error.code)] ?? String(error.code);
    const where = error.address === undefined ? String(error.message) : `${String(error.address)}:${String(error.port ?? '')}`;
    return `cannot reach PostgreSQL at ${where}: ${reason}`;
  }
  if (typeof error.message === 'string' && /timeout exceeded when trying to connect|Connection terminated/i.test(error.message)) {
    return `cannot reach PostgreSQL: ${error.message}`;
  }
  return undefined;
}

function fileFailure(error: SystemError): string | undefined {
  if (typeof error.path !== 'string' || typeof error.code !== 'string') return undefined;
  const problem = fileProblems[error.code];
  if (!problem) return undefined;
  const action =
    { mkdir: 'cannot create the directory', open: 'cannot open', write: 'cannot write', rename: 'cannot write' }[String(error.syscall)] ?? 'cannot access';
  return `${action} ${error.path}: ${problem}`;
}

/** The one line to print for an error a user can fix, or undefined for a bug. */
export function failureMessage(error: unknown): string | undefined {
  if (error instanceof ConfigError || error instanceof MasterKeyError || error instanceof DatabaseLockedError) return error.message;
  if (typeof error !== 'object' || error === null) return undefined;
  const system = error as SystemError;
  if (String(system.code).startsWith('ERR_PARSE_ARGS')) return String(system.message);
  // Node reports a connection to a name with several addresses as an AggregateError of each attempt.
  if (Array.isArray(system.errors) && system.errors.length > 0) return failureMessage(system.errors[0]);
  // The PostgreSQL backend wraps connection failures as UNAVAILABLE with the cause attached.
  if (system.code === 'UNAVAILABLE' && system.cause) return failureMessage(system.cause) ?? String(system.message);
  if (system.syscall === 'listen') return listenFailure(system);
  // A database written by a newer prekeyd: running an older one on it would lose data.
  if (typeof system.message === 'string' && /schema.* is (at version \d+, )?newer than/.test(system.message)) {
    return `${system.message.replace(/[.;]? *(upgrade prekeyd\.)?$/, '')}: upgrade prekeyd, or start it on a snapshot taken before the upgrade`;
  }
  // Deno refuses what its permission flags do not grant, with a message naming the flag.
  if (system.name === 'NotCapable' || system.name === 'PermissionDenied') return String(system.message);
  return postgresFailure(system) ?? fileFailure(system);
}

/** A multi-line message (a list of invalid settings) stays as it is; everything else is one line. */
export const oneLine = (message: string): string => (message.includes('\n  ') ? message : message.replace(/\s*\n\s*/g, ' '));
