/**
 * Writes UI-stream events as Server-Sent Events (docs/api.md, "The stream format"): `data: <json>` frames, a `: heartbeat`
 * comment after 15 s of silence, and `data: [DONE]` at the end. Events are pulled one at a time as the
 * client reads, so a slow client is never buffered for; a client that goes away cancels the reader.
 */
import type { UIMessageChunk } from 'ai';

export const HEARTBEAT_MS = 15_000;

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
} as const;

export function sseResponse(
  events: (signal: AbortSignal) => AsyncIterable<UIMessageChunk>,
  options: { headers?: Record<string, string>; onFirstContent?: () => void; onClose?: () => void; heartbeatMs?: number } = {},
): Response {
  const encoder = new TextEncoder();
  const reader = new AbortController();
  const iterator = events(reader.signal)[Symbol.asyncIterator]();
  let sawContent = false;
  let closed = false;
  // One timer per stream, pushed back by every event: a heartbeat goes out after silence only.
  let heartbeat: NodeJS.Timeout | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(heartbeat);
    options.onClose?.();
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        heartbeat = setTimeout(function beat() {
          if (closed) return;
          controller.enqueue(encoder.encode(': heartbeat\n\n'));
          heartbeat!.refresh();
        }, options.heartbeatMs ?? HEARTBEAT_MS);
      },
      async pull(controller) {
        try {
          const result = await iterator.next();
          if (closed) return;
          heartbeat!.refresh();
          if (result.done) {
            controller.enqueue(encoder.encode('data: [DONE]\n\n'));
            controller.close();
            close();
            return;
          }
          const event = result.value;
          if (!sawContent && (event.type === 'text-delta' || event.type === 'tool-input-start' || event.type === 'error')) {
            sawContent = true;
            options.onFirstContent?.();
          }
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`));
        } catch {
          if (closed) return;
          // The log could not be read (e.g. Redis went away): end the stream in the documented way.
          controller.enqueue(
            encoder.encode(
              `data: ${JSON.stringify({ type: 'error', errorText: 'The live stream was interrupted. Reload to see the saved answer.' })}\n\n` +
                `data: ${JSON.stringify({ type: 'finish' })}\n\ndata: [DONE]\n\n`,
            ),
          );
          controller.close();
          close();
        }
      },
      async cancel() {
        reader.abort();
        close();
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...options.headers } });
}
