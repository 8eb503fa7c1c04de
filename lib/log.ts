// Structured JSON logs (pino). Components log through a child logger carrying
// `component`, and log little: errors once, high up; never a single NXDOMAIN.
import { pino, type Logger } from 'pino';

/** LogLevel is a pino level name, or silent. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** LOG_LEVELS lists the accepted --log-level values. */
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** createLogger makes the root logger; components use logger.child({ component }). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** silentLogger discards everything; for embedding and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
