/** Turns every failure into the one JSON error shape (docs/api.md, "Errors"), with no stack or secret in it. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ChatError, type ErrorCode } from '../../errors.js';
import { outageOf, unavailableError } from '../../service-outage.js';
import type { AppEnv } from '../app-context.js';
import { errorSummary } from '../../logger.js';

export function errorBody(code: ErrorCode, message: string, requestId: string) {
  return { error: { code, message, requestId } };
}

export function toErrorResponse(c: Context<AppEnv>, error: unknown): Response {
  const requestId = c.get('requestId') ?? 'unknown';
  let chatError: ChatError;
  if (ChatError.isInstance(error)) {
    chatError = error;
  } else if (error instanceof HTTPException) {
    const code: ErrorCode =
      error.status === 413
        ? 'payload_too_large'
        : error.status === 401
          ? 'unauthorized'
          : error.status === 404
            ? 'not_found'
            : 'invalid_request';
    chatError = new ChatError(code, error.status === 413 ? 'The request body is too large.' : error.message || 'The request is not valid.');
  } else if (outageOf(error)) {
    const service = outageOf(error)!;
    c.get('log')?.warn({ err: errorSummary(error), service }, 'backing service unavailable');
    chatError = unavailableError(service);
  } else {
    c.get('log')?.error({ err: errorSummary(error) }, 'unexpected error');
    chatError = new ChatError(
      'internal',
      'Something went wrong on our side. Please try again; if it keeps happening, quote the request id.',
    );
  }
  const headers: Record<string, string> = { ...chatError.headers, 'x-request-id': requestId };
  if (chatError.retryAfterSeconds !== undefined) headers['retry-after'] = String(chatError.retryAfterSeconds);
  return c.json(errorBody(chatError.code, chatError.message, requestId), chatError.status as 400, headers);
}
