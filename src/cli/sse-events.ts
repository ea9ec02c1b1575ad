/**
 * Turns an autochat SSE response into UI-message-stream chunks, with the AI SDK's own decoder
 * (bytes → events → JSON) and `uiMessageChunkSchema`, so the terminal reads exactly what `useChat`
 * reads. Comments (`: heartbeat`) and the closing `[DONE]` never reach the caller.
 */
import { setTimeout as sleep } from 'node:timers/promises';
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

export type ReadToEndOptions = ReadChunksOptions & {
  signal?: AbortSignal;
  /** Tries in a row that bring nothing new before giving up (default 5: about 8 s of waiting). */
  attempts?: number;
  /** The wait before re-attachment `attempt` (from 1). */
  delayMs?: (attempt: number) => number;
};

/**
 * Reads an answer's stream to its end (`finish` or `abort`), re-attaching when the connection ends
 * before it — an instance that stopped, a proxy that dropped the connection — as `useChat`'s resume
 * does. A re-attached stream replays the answer from its first event, so the chunks already read are
 * skipped: the caller sees each chunk once. `reattach` answers undefined when nothing runs any more
 * (the answer ended while the connection was down); the reading then ends without `finish`, for the
 * caller to report. After `attempts` tries in a row that brought nothing new, the last error is thrown.
 */
export async function* readToEnd(
  first: Response,
  reattach: (signal?: AbortSignal) => Promise<Response | undefined>,
  options: ReadToEndOptions = {},
): AsyncGenerator<UIMessageChunk> {
  const { signal, attempts = 5, delayMs = (attempt) => 250 * 2 ** (attempt - 1) } = options;
  let response: Response | undefined = first;
  let read = 0;
  let failures = 0;
  let lastError: unknown;
  for (;;) {
    let seen = 0;
    if (response) {
      lastError = undefined;
      try {
        for await (const chunk of readUiMessageChunks(response, options)) {
          if (++seen <= read) continue; // replayed: read before the connection ended
          read = seen;
          failures = 0;
          yield chunk;
          if (chunk.type === 'finish' || chunk.type === 'abort') return;
        }
      } catch (error) {
        if (signal?.aborted) throw error;
        lastError = error;
      }
    }
    if (signal?.aborted) return;
    if (++failures > attempts) {
      if (lastError) throw lastError;
      return;
    }
    await sleep(delayMs(failures), undefined, { signal }).catch(() => undefined);
    if (signal?.aborted) return;
    try {
      response = await reattach(signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      response = undefined;
      lastError = error;
      continue;
    }
    if (!response) return;
  }
}
