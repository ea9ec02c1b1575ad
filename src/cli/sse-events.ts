/**
 * Turns an autochat SSE response into UI-message-stream chunks, with the AI SDK's own decoder
 * (bytes → events → JSON) and `uiMessageChunkSchema`, so the terminal reads exactly what `useChat`
 * reads. Comments (`: heartbeat`) and the closing `[DONE]` never reach the caller.
 */
import { parseJsonEventStream } from '@ai-sdk/provider-utils';
import { uiMessageChunkSchema, type UIMessageChunk } from 'ai';

export type ReadChunksOptions = {
  /** Called with each event that is not a valid chunk (a newer server may send types this client does not know). */
  onInvalid?: (error: unknown) => void;
};

/** Yields each chunk as soon as its event has arrived; ends with the response body. */
export async function* readUiMessageChunks(response: Response, options: ReadChunksOptions = {}): AsyncGenerator<UIMessageChunk> {
  if (!response.body) return;
  const reader = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema }).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.success) yield value.value;
      else options.onInvalid?.(value.error);
    }
  } finally {
    // Leaving early (a break, an error) must release the connection rather than leave it open.
    await reader.cancel().catch(() => undefined);
  }
}
