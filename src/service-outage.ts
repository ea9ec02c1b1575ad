/**
 * Tells a backing service that does not answer (the database or Redis down, restarting or out of
 * connections) from every other failure, so that it reaches clients as `503 unavailable` with
 * `Retry-After` (docs/api.md, "Errors") instead of `500 internal`. The one place that knows the drivers' errors.
 */
import { ChatError } from './errors.js';

export type BackingService = 'database' | 'redis';

/** Seconds a client is asked to wait before trying again while a backing service is down. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** SQLSTATE classes and codes of a server that cannot serve: connection exceptions, shutting down, starting up, no connection slots. */
const DATABASE_STATES = /^(08...|57P0[1-4]|53300|53000)$/;
const DATABASE_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|the database system is (starting up|shutting down|in recovery mode)/i;
const REDIS_MESSAGES =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|^LOADING |Reached the max retries per request limit/i;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

const SERVICE = Symbol.for('autochat.backing-service');

/** Marks an error raised while reaching a service (e.g. a refused connection) as that service's. */
export function markOutage<T>(error: T, service: BackingService): T {
  if (error instanceof Error) Object.defineProperty(error, SERVICE, { value: service });
  return error;
}

/**
 * Which backing service an error says is down: `database`, `redis`, `unknown` for a network failure
 * that names neither, or undefined when the error is not an outage at all. Looks through `cause`s
 * (drizzle wraps driver errors).
 */
export function outageOf(error: unknown): BackingService | 'unknown' | undefined {
  let network = false;
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const marked = (current as { [SERVICE]?: BackingService })[SERVICE];
    if (marked) return marked;
    const { name, message } = current;
    const code = (current as { code?: unknown }).code;
    if (name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(message)) return 'redis';
    if (typeof code === 'string' && DATABASE_STATES.test(code)) return 'database';
    if (DATABASE_MESSAGES.test(message)) return 'database';
    if (typeof code === 'string' && NETWORK_CODES.has(code)) network = true;
    if (name === 'AggregateError' && Array.isArray((current as AggregateError).errors)) {
      if ((current as AggregateError).errors.some((inner: unknown) => outageOf(inner) !== undefined)) network = true;
    }
  }
  return network ? 'unknown' : undefined;
}

/** The `unavailable` error for an outage, naming the service when it is known. */
export function unavailableError(service: BackingService | 'unknown', cause?: unknown): ChatError {
  const what = service === 'database' ? 'its database is' : service === 'redis' ? 'its Redis server is' : 'a service it depends on is';
  return new ChatError('unavailable', `The chat service is temporarily unavailable: ${what} not answering. Please try again in a moment.`, {
    retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS,
    cause,
  });
}
