/**
 * Structured logs: one JSON object per line on stdout (pretty, one readable line each, when
 * stdout is a terminal). Callers never pass keys, secrets, bodies or key material.
 */
import process from 'node:process';
import { redactCredentials } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

type Entry = { time: string; level: Exclude<LogLevel, 'silent'>; msg: string } & Record<string, unknown>;

export const jsonFormat = (entry: Entry): string => JSON.stringify(entry);

const colors = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' } as const;

export function prettyFormat(entry: Entry): string {
  const { time, level, msg, ...fields } = entry;
  const rest = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time.slice(11, 23)} ${colors[level]}${level.toUpperCase().padEnd(5)}\x1b[0m ${msg}${rest ? ` ${rest}` : ''}`;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => console.log(line),
  format: (entry: Entry) => string = process.stdout?.isTTY ? prettyFormat : jsonFormat,
): Logger {
  const at = (lineLevel: Exclude<LogLevel, 'silent'>) => (message: string, fields?: Record<string, unknown>) => {
    if (rank[lineLevel] < rank[level]) return;
    // A database URL in an error message must not carry its password into the logs.
    write(redactCredentials(format({ time: new Date().toISOString(), level: lineLevel, msg: message, ...fields })));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger = createLogger('silent');
