/**
 * Tells a dropped answer stream from other failures. useChat reports a connection that breaks off
 * mid-answer as a "disconnect" and, on resuming, appends to the partial message it kept — which,
 * with a server that replays the answer from its start, would show the answer twice (its React
 * wrapper of the transport hides that ours replays). So the chat transport's fetch turns a body
 * that breaks off into a `ConnectionDropped` error, and the chat view reattaches itself, without
 * the partial message.
 */
export class ConnectionDropped extends Error {
  override readonly name = 'ConnectionDropped';
  constructor() {
    super('The connection to the server dropped while the answer was streaming.');
  }
}

export const isConnectionDropped = (error: unknown): boolean => error instanceof Error && error.name === 'ConnectionDropped';

/** `base`, with response bodies that fail with `ConnectionDropped` when they break off (not when aborted: Stop stays a stop). */
export function dropAwareFetch(base: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(init?.signal?.aborted ? error : new ConnectionDropped());
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
