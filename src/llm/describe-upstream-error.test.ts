import { APICallError, JSONParseError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';
import { describeUpstreamError, rootCauseCode } from './describe-upstream-error.js';
import { UpstreamTimeoutError } from './upstream-fetch.js';

const SECRET = 'sk-or-v1-secret';
const URL_ = 'https://openrouter.example/api/v1/chat/completions';

const apiError = (statusCode: number | undefined) =>
  new APICallError({
    message: `upstream said ${SECRET}`,
    url: URL_,
    requestBodyValues: { apiKey: SECRET },
    statusCode,
    responseBody: `{"error":"${SECRET}"}`,
  });
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
const fetchFailed = (code: string) => new TypeError('fetch failed', { cause: coded(code) });

describe('describeUpstreamError', () => {
  it.each([
    [401, 'auth', /OPEN_ROUTER_API_KEY/],
    [403, 'auth', /OPEN_ROUTER_API_KEY/],
    [402, 'auth', /run out of credit/],
    [429, 'rate_limited', /try again in a minute/],
    [500, 'unavailable', /unavailable right now/],
    [503, 'unavailable', /unavailable right now/],
    [400, 'bad_request', /could not process this request/],
    [404, 'bad_request', /unknown model/],
    [413, 'bad_request', /too long/],
    [422, 'bad_request', /could not process/],
  ] as const)('words an HTTP %i from the provider as %s', (status, kind, message) => {
    const described = describeUpstreamError(apiError(status));
    expect(described.kind).toBe(kind);
    expect(described.message).toMatch(message);
  });

  it('treats a provider error with no status as unavailable, and an unlisted 4xx as unknown', () => {
    expect(describeUpstreamError(apiError(undefined)).kind).toBe('unavailable');
    expect(describeUpstreamError(apiError(418)).kind).toBe('unknown');
  });

  it('describes the last attempt of retried calls', () => {
    const retried = new RetryError({ message: 'gave up', reason: 'maxRetriesExceeded', errors: [apiError(500), apiError(429)] });
    expect(describeUpstreamError(retried).kind).toBe('rate_limited');
  });

  it('says how long the model was silent, whether the timeout is the error or its cause', () => {
    expect(describeUpstreamError(new UpstreamTimeoutError(30_000))).toEqual({
      kind: 'timeout',
      message: 'The model stopped responding (no data for 30 s), so the answer was cut short. Please try again.',
    });
    expect(describeUpstreamError(new TypeError('fetch failed', { cause: new UpstreamTimeoutError(1_500) })).message).toMatch(
      /no data for 2 s/,
    );
  });

  it('names an untrusted certificate as something an operator must fix', () => {
    const described = describeUpstreamError(coded('SELF_SIGNED_CERT_IN_CHAIN'));
    expect(described.kind).toBe('unavailable');
    expect(described.message).toMatch(/certificate is not trusted.*LLM_BASE_URL/);
  });

  it.each([
    ['ENOTFOUND', /host name does not resolve/],
    ['EAI_AGAIN', /DNS did not answer/],
    ['ECONNREFUSED', /nothing answers at its address/],
    ['EHOSTUNREACH', /no route to its host/],
    ['ENETUNREACH', /no network route/],
  ])('explains a connection that never reached the provider (%s) and points at LLM_BASE_URL', (code, message) => {
    const described = describeUpstreamError(fetchFailed(code));
    expect(described.kind).toBe('unreachable');
    expect(described.message).toMatch(message);
    expect(described.message).toMatch(/LLM_BASE_URL/);
  });

  it('prefers the status of a provider that answered over a connection code deeper down', () => {
    const answered = new APICallError({ message: 'x', url: URL_, requestBodyValues: {}, statusCode: 503, cause: coded('ECONNREFUSED') });
    expect(describeUpstreamError(answered).kind).toBe('unavailable');
  });

  it('calls a malformed response or a connection lost mid-answer broken', () => {
    expect(describeUpstreamError(new JSONParseError({ text: '{"choices":[', cause: new SyntaxError('end') })).kind).toBe('broken');
    expect(describeUpstreamError(coded('ECONNRESET')).message).toMatch(/lost in the middle of the answer/);
    expect(describeUpstreamError(new Error('terminated')).kind).toBe('broken');
    expect(describeUpstreamError(new Error('wrapper', { cause: new Error('other side closed') })).kind).toBe('broken');
  });

  it('falls back to a generic sentence for anything else, including values that are not errors', () => {
    for (const thrown of [new Error('boom'), 'a string', undefined, { code: 42 }]) {
      expect(describeUpstreamError(thrown)).toEqual({
        kind: 'unknown',
        message: 'The answer could not be completed because of an unexpected error. Please try again.',
      });
    }
  });

  it('never repeats the provider’s key, URL or body to the user', () => {
    for (const status of [400, 401, 402, 429, 500, 418, undefined]) {
      const { message } = describeUpstreamError(apiError(status));
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain('openrouter.example');
    }
  });
});

describe('rootCauseCode', () => {
  it('finds the innermost code, ignoring layers without one', () => {
    const error = new Error('outer', { cause: Object.assign(new Error('mid', { cause: coded('ENOTFOUND') }), { code: 'UND_ERR' }) });
    expect(rootCauseCode(error)).toBe('ENOTFOUND');
    expect(rootCauseCode(new Error('plain'))).toBeUndefined();
    expect(rootCauseCode('not an error')).toBeUndefined();
  });

  it('stops after six levels, so a cause cycle cannot loop forever', () => {
    const cyclic: Error & { code?: string } = coded('ECONNRESET');
    cyclic.cause = cyclic;
    expect(rootCauseCode(cyclic)).toBe('ECONNRESET');
  });
});
