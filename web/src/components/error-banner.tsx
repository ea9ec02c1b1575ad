// An error shown where it happened, with an optional Retry.
import type { ErrorCode } from '../../../src/api/error-codes.js';
import type { ApiError } from '../api-error.js';

interface ErrorBannerProps {
  error: ApiError;
  onRetry?: () => void;
  retryLabel?: string;
}

/** Titles of the server's codes (the others get a generic one) and of the UI's own two. */
const titles: Partial<Record<ErrorCode | 'network_error' | 'stream_error', string>> = {
  usage_limit_exceeded: 'Usage limit reached',
  rate_limited: 'Too many requests',
  unauthorized: 'Sign-in needed',
  not_found: 'Not found',
  run_in_progress: 'Still answering',
  payload_too_large: 'Message too long',
  upstream_unavailable: 'Model unavailable',
  network_error: 'Connection problem',
  stream_error: 'Answer interrupted',
  unavailable: 'Server busy',
  forbidden: 'Not allowed',
};

export function ErrorBanner({ error, onRetry, retryLabel = 'Retry' }: ErrorBannerProps) {
  const extra =
    error.code === 'unauthorized'
      ? ' Paste an API token to continue.'
      : error.retryAfterSeconds && !/\d/.test(error.message)
        ? ` Try again in ${error.retryAfterSeconds} s.`
        : '';
  return (
    <div className="error-banner" role="alert" data-testid="error-banner" data-code={error.code}>
      <div className="error-banner__text">
        <strong>{titles[error.code as keyof typeof titles] ?? 'Something went wrong'}</strong>
        <span>
          {error.message}
          {extra}
        </span>
        {error.requestId ? <small className="error-banner__id">Request {error.requestId}</small> : null}
      </div>
      {onRetry ? (
        <button type="button" className="button button--small" onClick={onRetry} data-testid="retry" aria-label={retryLabel}>
          {retryLabel}
        </button>
      ) : null}
    </div>
  );
}
