/**
 * JSON logs, one line per event: on stdout for the server, on stderr for a program that uses autochat
 * as a library (its stdout is its own). Message content, tokens and keys are never logged.
 */
import { RetryError } from 'ai';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Where a library's logs go when the program gave no logger: standard error, never its output. */
export const libraryLogDestination = (): pino.DestinationStream => pino.destination({ fd: 2, sync: true });

/**
 * How long a log line may wait before it is written. Lines are written to stdout in batches (each
 * write is a system call, and the server logs a few lines per turn); whatever is buffered is also
 * written when the process exits.
 */
const FLUSH_MS = 100;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  let stream = destination;
  if (!stream) {
    const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => stdout.flush(), FLUSH_MS).unref();
    stream = stdout;
  }
  return pino(
    {
      level,
      base: { service: 'autochat' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'apiKey', 'message', 'content', 'parts'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** What may be logged of an error: its kind, status and code (and its cause's), never its message body or a stack. */
export function errorSummary(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const failed = RetryError.isInstance(error) ? error.lastError : error;
  const status = (failed as { statusCode?: number }).statusCode;
  const code = (error as { code?: string }).code;
  const inner = failed instanceof Error ? failed.cause : undefined;
  const cause = depth < 2 && inner !== undefined ? { cause: errorSummary(inner, depth + 1) } : {};
  // At the top, the innermost coded cause says what really happened (ENOTFOUND, ECONNREFUSED, …) and,
  // for a lookup or a connection, which host: configuration, never a secret.
  let root: Error | undefined;
  for (let current: unknown = failed, level = 0; depth === 0 && current instanceof Error && level < 6; current = current.cause, level++) {
    if (current !== error && typeof (current as { code?: unknown }).code === 'string') root = current;
  }
  const host = (root as { hostname?: unknown } | undefined)?.hostname ?? (root as { address?: unknown } | undefined)?.address;
  return {
    type: error.name,
    ...(status ? { status } : {}),
    ...(code ? { code } : {}),
    ...cause,
    ...(root ? { rootCause: (root as unknown as { code: string }).code, ...(typeof host === 'string' ? { host } : {}) } : {}),
  };
}
