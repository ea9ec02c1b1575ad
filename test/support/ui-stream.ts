/**
 * Reads an autochat SSE response with the AI SDK's own client code: `parseJsonEventStream` with
 * `uiMessageChunkSchema` validates every chunk, and `readUIMessageStream` rebuilds the message.
 */
import { parseJsonEventStream } from '@ai-sdk/provider-utils';
import { readUIMessageStream, uiMessageChunkSchema, type UIMessage, type UIMessageChunk } from 'ai';

export type ParsedStream = { chunks: UIMessageChunk[]; raw: string; endedWithDone: boolean; invalid: unknown[] };

export async function readSse(response: Response): Promise<ParsedStream> {
  const raw = await response.text();
  return parseSseText(raw);
}

export async function parseSseText(raw: string): Promise<ParsedStream> {
  const chunks: UIMessageChunk[] = [];
  const invalid: unknown[] = [];
  const stream = parseJsonEventStream({
    stream: new Response(raw).body!,
    schema: uiMessageChunkSchema,
  });
  for await (const result of stream as unknown as AsyncIterable<{ success: boolean; value?: UIMessageChunk; error?: unknown }>) {
    if (result.success) chunks.push(result.value!);
    else invalid.push(result.error);
  }
  return { chunks, raw, endedWithDone: raw.trimEnd().endsWith('data: [DONE]'), invalid };
}

/** Rebuilds the assistant message from chunks exactly as `useChat` would. */
export async function rebuildMessage(chunks: UIMessageChunk[]): Promise<UIMessage | undefined> {
  let last: UIMessage | undefined;
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  for await (const message of readUIMessageStream({ stream, terminateOnError: false })) last = message;
  return last;
}

export const textOf = (chunks: UIMessageChunk[]) => chunks.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');

export const typesOf = (chunks: UIMessageChunk[]) => chunks.map((chunk) => chunk.type);

/** Reads SSE frames until `count` data events have arrived, then drops the connection (`controller` is its request's). */
export async function readSome(response: Response, count: number, controller: AbortController): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while ((text.match(/^data: /gm) ?? []).length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return text;
}
