/**
 * Turns whatever went wrong with the upstream model into a sentence fit to show a person: what
 * happened and whether trying again may help. Never a stack, a key, a URL or a provider's raw body.
 */
import { APICallError, InvalidResponseDataError, JSONParseError, RetryError, TypeValidationError } from 'ai';
import { isCertificateError, UpstreamTimeoutError } from './upstream-fetch.js';

export type UpstreamFailure = {
  message: string;
  kind: 'timeout' | 'rate_limited' | 'auth' | 'unreachable' | 'unavailable' | 'bad_request' | 'broken' | 'unknown';
};

/** Codes of a connection that never reached the provider, with what each means for an operator. */
const UNREACHABLE: Record<string, string> = {
  ENOTFOUND: "The model provider's address could not be found (its host name does not resolve)",
  EAI_AGAIN: "The model provider's address could not be looked up right now (DNS did not answer)",
  ECONNREFUSED: 'The model provider could not be reached (nothing answers at its address)',
  EHOSTUNREACH: 'The model provider could not be reached (no route to its host)',
  ENETUNREACH: 'The model provider could not be reached (this server has no network route to it)',
};

export function describeUpstreamError(error: unknown): UpstreamFailure {
  if (RetryError.isInstance(error)) return describeUpstreamError(error.lastError);
  if (error instanceof UpstreamTimeoutError || (error instanceof Error && error.cause instanceof UpstreamTimeoutError)) {
    const timeout = error instanceof UpstreamTimeoutError ? error : (error.cause as UpstreamTimeoutError);
    return {
      kind: 'timeout',
      message: `The model stopped responding (no data for ${Math.round(timeout.timeoutMs / 1000)} s), so the answer was cut short. Please try again.`,
    };
  }
  if (isCertificateError(error)) {
    return {
      kind: 'unavailable',
      message:
        'The connection to the model provider could not be secured: its certificate is not trusted. An operator needs to check LLM_BASE_URL or the trusted certificates.',
    };
  }
  const unreachable = rootCauseCode(error);
  if (unreachable && UNREACHABLE[unreachable] && !(APICallError.isInstance(error) && error.statusCode)) {
    return {
      kind: 'unreachable',
      message: `${UNREACHABLE[unreachable]}. An operator needs to check LLM_BASE_URL and this server's network.`,
    };
  }
  if (APICallError.isInstance(error)) {
    const status = error.statusCode ?? 0;
    if (status === 401 || status === 403) {
      return {
        kind: 'auth',
        message: 'The model provider refused the configured API key. An operator needs to check OPEN_ROUTER_API_KEY.',
      };
    }
    if (status === 429)
      return { kind: 'rate_limited', message: 'The model provider is rate limiting requests right now. Please try again in a minute.' };
    if (status === 402) return { kind: 'auth', message: 'The model provider account has run out of credit.' };
    if (status >= 500 || status === 0)
      return { kind: 'unavailable', message: 'The model provider is unavailable right now. Please try again shortly.' };
    if (status === 400 || status === 404 || status === 413 || status === 422) {
      return {
        kind: 'bad_request',
        message: 'The model provider could not process this request (for example an unknown model or a conversation that is too long).',
      };
    }
  }
  if (JSONParseError.isInstance(error) || TypeValidationError.isInstance(error) || InvalidResponseDataError.isInstance(error)) {
    return {
      kind: 'broken',
      message: 'The model provider sent an incomplete or malformed response, so the answer was cut short. Please try again.',
    };
  }
  if (isConnectionLoss(error)) {
    return { kind: 'broken', message: 'The connection to the model provider was lost in the middle of the answer. Please try again.' };
  }
  return { kind: 'unknown', message: 'The answer could not be completed because of an unexpected error. Please try again.' };
}

/** The `code` of the innermost error that has one (a DNS or socket failure under the fetch's TypeError). */
export function rootCauseCode(error: unknown): string | undefined {
  let found: string | undefined;
  for (let current = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') found = code;
  }
  return found;
}

function isConnectionLoss(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: string }).code;
    if (code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'ETIMEDOUT', 'ENOTFOUND'].includes(code)) return true;
    if (/terminated|socket hang up|other side closed|fetch failed|network/i.test(current.message)) return true;
  }
  return false;
}
