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

/**
 * LogLimiter keeps errors on the query path to one line per kind per period, so that an
 * outage or a flood of bad queries cannot write logs at query rate. Lines held back are
 * counted into the next line of their kind (`suppressed`).
 */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly periodMs = 1000) {}

  /** allow tells how many lines of this kind were held back since the last one, or undefined to hold this one back too. */
  allow(kind: string, now = Date.now()): number | undefined {
    const seen = this.last.get(kind);
    if (seen && now - seen.at < this.periodMs) {
      seen.suppressed++;
      return undefined;
    }
    // Kinds are few (error classes, registries, upstreams); forget them all if that ever stops being true.
    if (!seen && this.last.size >= 1000) this.last.clear();
    this.last.set(kind, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }
}

/** URL_USERINFO matches the user-info of a URL (`scheme://user:password@`). */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi;

/**
 * redact hides secrets in text bound for a log or an error: the user-info of any URL,
 * and each of the given secret values (tokens, passwords).
 * @example redact('http://admin:pw@consul:8500') // 'http://***@consul:8500'
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_USERINFO, '$1***@');
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}
