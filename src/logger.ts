/**
 * JSON logs, one line per event: on stdout for the server, on stderr for a program that uses autochat
 * as a library (its stdout is its own). Message content, tokens and keys are never logged.
 */
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
