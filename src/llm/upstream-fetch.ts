/**
 * The fetch the upstream provider is given: Node's own `http`/`https` client behind the Fetch API,
 * with keep-alive connections, and a silence timeout — no response headers, or no body bytes, for
 * `timeoutMs` and the request is abandoned (the socket closes, billing stops) with an error that says
 * so. It takes less heap and CPU per streamed response than the global fetch (undici); figures in
 * BENCHMARKS.md.
 *
 * It behaves as fetch does where the AI SDK relies on it: network failures before a response reject
 * with `TypeError('fetch failed')` (which the SDK retries), an abort rejects with the signal's reason,
 * and a connection lost mid-body errors the body stream.
 *
 * A kept-alive connection that the provider closed while it sat idle can be picked for a request in
 * the moment before its close is seen: the request then fails at once with a reset, although the
 * provider never received it. Such a request is sent again on another connection (at most
 * STALE_CONNECTION_RETRIES times) whatever LLM_MAX_RETRIES says: it was never a call, so it is never
 * charged or repeated. A failure on a new connection is reported as it is.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`The model did not answer for ${Math.round(timeoutMs / 1000)} s.`);
  }
}

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** How often a request that met a kept-alive connection the provider had already closed is sent again. */
export const STALE_CONNECTION_RETRIES = 2;

export function createUpstreamFetch(timeoutMs: number): typeof fetch {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init.signal ?? undefined;
    const body = bodyOf(init.body);
    const headers = headersOf(init.headers);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    for (let attempt = 0; ; attempt++) {
      try {
        return await send({ url, method: init.method ?? 'GET', headers, body, signal, timeoutMs });
      } catch (error) {
        if (!(error instanceof StaleConnectionError) || attempt >= STALE_CONNECTION_RETRIES) {
          throw error instanceof StaleConnectionError ? new TypeError('fetch failed', { cause: error.cause }) : error;
        }
      }
    }
  };
}

/** A request that failed on a reused kept-alive connection before any byte of a response came back. */
class StaleConnectionError extends Error {}

type Outgoing = {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  signal: AbortSignal | undefined;
  timeoutMs: number;
};

function send({ url, method, headers, body, signal, timeoutMs }: Outgoing): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const secure = url.protocol === 'https:';
    let failure: Error | undefined;
    let response: IncomingMessage | undefined;
    let timer: NodeJS.Timeout | undefined;
    const request = (secure ? httpsRequest : httpRequest)(url, {
      method,
      headers,
      agent: secure ? agents.https : agents.http,
    });
    const fail = (error: Error) => {
      failure ??= error;
      request.destroy(error);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new UpstreamTimeoutError(timeoutMs)), timeoutMs);
    };
    const onAbort = () => fail(signal!.reason instanceof Error ? signal!.reason : abortError());
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (error) => {
      if (response) return; // reported through the body stream
      finish();
      const reason = failure ?? error;
      // A certificate that is not trusted will not become trusted by trying again: not reported
      // as a network failure (which the AI SDK retries).
      const final = reason instanceof UpstreamTimeoutError || reason === signal?.reason || isCertificateError(reason);
      if (final) reject(reason);
      else if (request.reusedSocket && !failure && isReset(error)) reject(new StaleConnectionError('stale connection', { cause: error }));
      else reject(new TypeError('fetch failed', { cause: reason }));
    });
    request.on('response', (incoming) => {
      response = incoming;
      arm();
      resolve(
        new Response(streamOf(incoming, { onData: arm, onEnd: finish, failure: () => failure, cancel: () => request.destroy() }), {
          status: incoming.statusCode ?? 0,
          statusText: incoming.statusMessage ?? '',
          headers: responseHeaders(incoming),
        }),
      );
    });
    arm();
    request.end(body);
  });
}

/** What a write to a connection the other side has closed fails with. */
function isReset(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || error.message === 'socket hang up';
}

/** The response body as a web stream that pauses the socket while the reader is behind. */
function streamOf(
  incoming: IncomingMessage,
  hooks: { onData: () => void; onEnd: () => void; failure: () => Error | undefined; cancel: () => void },
): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const end = (error?: Error) => {
        if (done) return;
        done = true;
        hooks.onEnd();
        if (error) controller.error(hooks.failure() ?? error);
        else controller.close();
      };
      incoming.on('data', (chunk: Buffer) => {
        if (done) return;
        hooks.onData();
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 1) <= 0) incoming.pause();
      });
      incoming.on('end', () => end());
      incoming.on('error', (error) => end(error));
      // Every response closes; only one that closes before its end lost its connection.
      incoming.on('close', () => {
        if (!done) end(connectionLost());
      });
    },
    pull() {
      incoming.resume();
    },
    cancel() {
      done = true;
      hooks.onEnd();
      hooks.cancel();
    },
  });
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new TypeError('The upstream fetch sends string or byte bodies only.');
}

function headersOf(init: RequestInit['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!init) return headers;
  const entries = init instanceof Headers ? init.entries() : Array.isArray(init) ? init : Object.entries(init);
  for (const [name, value] of entries) if (value !== undefined) headers[name.toLowerCase()] = String(value);
  return headers;
}

function responseHeaders(incoming: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

/** TLS failures that are about the certificate, not the network (OpenSSL's and Node's codes). */
export function isCertificateError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT/.test(code);
}

function connectionLost(): Error {
  return Object.assign(new Error('The connection to the upstream closed before the response ended.'), { code: 'ECONNRESET' });
}

function abortError(): Error {
  return new DOMException('The operation was aborted.', 'AbortError');
}
