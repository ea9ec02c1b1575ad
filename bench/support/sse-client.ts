/**
 * A minimal timed SSE client: sends the request with `fetch`, splits the body into `data:` events and
 * notes when the first event and the first text token arrived. Understands both the AI SDK UI stream
 * (`text-delta` events) and the OpenAI chat-completions stream (`choices[0].delta.content`).
 */

export type StreamKind = 'ui' | 'openai';

export type TimedStream = {
  status: number;
  /** ms from sending the request to the first event, and to the first text token. */
  firstEventMs: number | null;
  ttftMs: number | null;
  /** ms from sending the request to the end of the body (or to where reading stopped). */
  totalMs: number;
  deltas: number;
  done: boolean;
  /** The UI stream ended with `finish` (autochat / AI SDK) — a completed turn. */
  finished: boolean;
  error?: string;
};

export type ReadUntil = 'end' | 'first-event' | 'first-delta';

type DeltaProbe = (event: unknown) => boolean;

const isUiDelta: DeltaProbe = (event) => (event as { type?: string }).type === 'text-delta';
const isOpenAiDelta: DeltaProbe = (event) => {
  const content = (event as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content;
  return typeof content === 'string' && content.length > 0;
};

export async function timedStream(
  url: string,
  init: RequestInit,
  options: { kind: StreamKind; until?: ReadUntil; timeoutMs?: number; onFirstDelta?: () => void },
): Promise<TimedStream> {
  const until = options.until ?? 'end';
  const isDelta = options.kind === 'ui' ? isUiDelta : isOpenAiDelta;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error('timed out')), options.timeoutMs ?? 30_000);
  const started = performance.now();
  const result: TimedStream = { status: 0, firstEventMs: null, ttftMs: null, totalMs: 0, deltas: 0, done: false, finished: false };
  try {
    const response = await fetch(url, { ...init, signal: abort.signal });
    result.status = response.status;
    if (response.status !== 200 || !response.body) {
      result.error = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
      return result;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    reading: for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        if (!frame.startsWith('data: ')) continue;
        const data = frame.slice(6);
        const now = performance.now() - started;
        result.firstEventMs ??= now;
        if (data === '[DONE]') {
          result.done = true;
          continue;
        }
        const event = JSON.parse(data) as { type?: string };
        if (event.type === 'finish') result.finished = true;
        if (isDelta(event)) {
          result.deltas++;
          if (result.ttftMs === null) {
            result.ttftMs = now;
            options.onFirstDelta?.();
          }
        }
        if ((until === 'first-event' && result.firstEventMs !== null) || (until === 'first-delta' && result.ttftMs !== null)) {
          await reader.cancel().catch(() => {});
          break reading;
        }
      }
    }
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    clearTimeout(timer);
    result.totalMs = performance.now() - started;
  }
  return result;
}

export const jsonPost = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
