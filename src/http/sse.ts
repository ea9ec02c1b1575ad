/**
 * Writes UI-stream events as Server-Sent Events (CONTRACT §5): `data: <json>` frames, a `: heartbeat`
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
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  let pending: Promise<IteratorResult<UIMessageChunk>> | undefined;
  let sawContent = false;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    options.onClose?.();
  };

  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        pending ??= iterator.next();
        let timer: NodeJS.Timeout | undefined;
        const heartbeat = new Promise<'heartbeat'>((resolve) => {
          timer = setTimeout(() => resolve('heartbeat'), heartbeatMs);
        });
        try {
          const result = await Promise.race([pending, heartbeat]);
          if (result === 'heartbeat') {
            controller.enqueue(encoder.encode(': heartbeat\n\n'));
            return;
          }
          pending = undefined;
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
          // The log could not be read (e.g. Redis went away): end the stream in the documented way.
          controller.enqueue(
            encoder.encode(
              `data: ${JSON.stringify({ type: 'error', errorText: 'The live stream was interrupted. Reload to see the saved answer.' })}\n\n` +
                `data: ${JSON.stringify({ type: 'finish' })}\n\ndata: [DONE]\n\n`,
            ),
          );
          controller.close();
          close();
        } finally {
          clearTimeout(timer);
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
