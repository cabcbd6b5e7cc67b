// Structured logs (pino). JSON for machines and log shippers; a readable pretty mode for terminals.
// Subsystems take a child logger (`log.child({ module: 'attestor' })`), never a global one.

import pino, { type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Human-readable lines (pino-pretty) instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Extra bindings on every line, e.g. { node: 'node-1' }. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LogOptions = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino({
    level: options.level ?? process.env.XMARGIN_LOG_LEVEL ?? 'info',
    base: options.base ?? null,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
