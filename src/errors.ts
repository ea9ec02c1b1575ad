/**
 * The one error type of autochat. Each carries a stable code (docs/api.md, "Errors"); the HTTP status and
 * the JSON shape are derived from it in one place.
 */

import { errorStatus, type ErrorCode } from './api/error-codes.js';

export { errorStatus, type ErrorCode };

const marker = Symbol.for('autochat.error');

export class ChatError extends Error {
  override readonly name = 'ChatError';
  readonly [marker] = true;
  /** Seconds a client should wait before trying again (429, 503). */
  readonly retryAfterSeconds?: number;
  /** Status override for codes that have two (502 vs 503). */
  readonly status: number;
  /** Response headers the error calls for, e.g. `WWW-Authenticate` on a 401. */
  readonly headers?: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { retryAfterSeconds?: number; status?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.status = options.status ?? errorStatus[code];
    this.headers = options.headers;
  }

  static isInstance(error: unknown): error is ChatError {
    return typeof error === 'object' && error !== null && marker in error;
  }

  get retryable(): boolean {
    return (
      this.code === 'rate_limited' || this.code === 'upstream_unavailable' || this.code === 'unavailable' || this.code === 'run_in_progress'
    );
  }
}

export const notFound = (what = 'Chat session') => new ChatError('not_found', `${what} not found.`);

/** The store has no agent with this slug (the routes, the tools and the MCP server say it in these words). */
export const noSuchAgent = (slug: string) => new ChatError('not_found', `No agent with slug "${slug}" exists in the store.`);
