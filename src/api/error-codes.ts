/**
 * The error codes of the HTTP API (docs/api.md, "Errors") and the status each answers with: the one
 * list the server (errors.ts), the OpenAPI document, the terminal client and the web UI read.
 */

export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  run_in_progress: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  usage_limit_exceeded: 429,
  rate_limited: 429,
  upstream_unavailable: 503,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export const errorCodes = Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]];

/** The codes answered with `status`, in the order above. */
export const codesOf = (status: number): ErrorCode[] => errorCodes.filter((code) => errorStatus[code] === status);
