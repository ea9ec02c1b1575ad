/**
 * A fetch for the upstream that gives up when the upstream falls silent: no response headers, or no
 * body bytes, for `timeoutMs`. The request is aborted (the socket closes, billing stops) and the
 * error says what happened, so the run can report it instead of hanging.
 */

export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`The model did not answer for ${Math.round(timeoutMs / 1000)} s.`);
  }
}

export function createSilenceTimeoutFetch(timeoutMs: number, baseFetch: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const callerSignal = init?.signal ?? undefined;
    const abortFromCaller = () => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) abortFromCaller();
    callerSignal?.addEventListener('abort', abortFromCaller, { once: true });

    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new UpstreamTimeoutError(timeoutMs)), timeoutMs);
    };
    const disarm = () => {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', abortFromCaller);
    };

    arm();
    let response: Response;
    try {
      response = await baseFetch(input, { ...init, signal: controller.signal });
    } catch (error) {
      disarm();
      throw controller.signal.reason instanceof UpstreamTimeoutError ? controller.signal.reason : error;
    }
    if (!response.body) {
      disarm();
      return response;
    }
    arm();
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            disarm();
            stream.close();
            return;
          }
          arm();
          stream.enqueue(value);
        } catch (error) {
          disarm();
          stream.error(controller.signal.reason instanceof UpstreamTimeoutError ? controller.signal.reason : error);
        }
      },
      cancel(reason) {
        disarm();
        controller.abort(reason);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
