/**
 * JSON logs, one line per event: on stdout for the server, on stderr for a program that uses autochat
 * as a library (its stdout is its own). Message content, tokens and keys are never logged.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Where a library's logs go when the program gave no logger: standard error, never its output. */
export const libraryLogDestination = (): pino.DestinationStream => pino.destination({ fd: 2, sync: true });

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
    destination,
  );
}
