// One error type for every failed API call, built from the server's `{"error":{code,message,requestId}}` body.
import type { ErrorCode } from '../../src/api/error-codes.js';
import { isRecord } from './api-types.js';

const marker = Symbol.for('autochat.web.ApiError');

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly [marker] = true;

  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
    readonly requestId?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  static isInstance(error: unknown): error is ApiError {
    return isRecord(error) && (error as { [marker]?: unknown })[marker] === true;
  }

  /** Whether trying the same request again later could succeed. */
  get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429 || this.status === 409;
  }
}

/** The code to assume when a failed response has no error body of ours (a proxy's page, say). */
const statusCodes: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  409: 'run_in_progress',
  413: 'payload_too_large',
  429: 'rate_limited',
  500: 'internal',
  502: 'upstream_unavailable',
  503: 'upstream_unavailable',
};

/** Reads an error body; tolerates bodies that are not our JSON shape (proxies, HTML error pages). */
export function apiErrorFromBody(body: string, status?: number, retryAfter?: string | null): ApiError {
  const retryAfterSeconds = retryAfter ? Number(retryAfter) || undefined : undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && isRecord(parsed.error)) {
      const { code, message, requestId } = parsed.error;
      return new ApiError(
        typeof message === 'string' && message ? message : 'The request failed.',
        typeof code === 'string' ? code : (status && statusCodes[status]) || 'internal',
        status,
        typeof requestId === 'string' ? requestId : undefined,
        retryAfterSeconds,
      );
    }
  } catch {
    // Not JSON: fall through to a generic message.
  }
  const code = (status && statusCodes[status]) || 'internal';
  const message = status ? `The server answered ${status}.` : body.trim() || 'The request failed.';
  return new ApiError(message, code, status, undefined, retryAfterSeconds);
}

/**
 * Turns whatever useChat reports into something fit to show: the AI SDK transport throws the
 * raw response body for HTTP errors, an `error` stream event's text for failures mid-answer,
 * and a TypeError when the network is gone.
 */
export function describeChatError(error: Error): ApiError {
  if (ApiError.isInstance(error)) return error;
  const text = error.message.trim();
  if (text.startsWith('{')) return apiErrorFromBody(text);
  if (error.name === 'TypeError' && /fetch|network/i.test(text)) {
    return new ApiError('Could not reach the server. Check your connection and try again.', 'network_error');
  }
  // An `error` event mid-answer carries only a sentence; the server words every failure of the model
  // provider as "The model provider …" or "The model stopped …".
  if (/^The model (provider|stopped)|model provider/i.test(text)) return new ApiError(text, 'upstream_unavailable');
  return new ApiError(text || 'The answer could not be completed.', 'stream_error');
}
