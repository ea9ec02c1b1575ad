/**
 * A minimal timed SSE client: sends the request with `fetch`, splits the body into `data:` events and
 * notes when the first event and the first text token arrived. Understands both the AI SDK UI stream
 * (`text-delta` events) and the OpenAI chat-completions stream (`choices[0].delta.content`). Events
 * are recognised by substring, not parsed, so that the load generator spends as little CPU as it can
 * and is not what limits the figures.
 */

export type StreamKind = 'ui' | 'openai';

export type TimedStream = {
  status: number;
  /** ms from sending the request to the response headers (for autochat: the run has been started). */
  headersMs: number | null;
  /** ms from sending the request to the first event, and to the first text token. */
  firstEventMs: number | null;
  ttftMs: number | null;
  /** ms from sending the request to the end of the body (or to where reading stopped). */
  totalMs: number;
  deltas: number;
  /** ms between consecutive text tokens as they arrived (how evenly the stream flows). */
  gapsMs: number[];
  done: boolean;
  /** The UI stream ended with `finish` (autochat / AI SDK) — a completed turn. */
  finished: boolean;
  error?: string;
};

export type ReadUntil = 'end' | 'first-event' | 'first-delta';

const isUiDelta = (frame: string) => frame.includes('"type":"text-delta"');
// The upstream's first chunk carries the role and an empty content; a token has non-empty content.
const isOpenAiDelta = (frame: string) => frame.includes('"content":"') && !frame.includes('"content":""');

export async function timedStream(
  url: string,
  init: RequestInit,
  options: { kind: StreamKind; until?: ReadUntil; timeoutMs?: number; onFirstDelta?: () => void; signal?: AbortSignal },
): Promise<TimedStream> {
  const until = options.until ?? 'end';
  const isDelta = options.kind === 'ui' ? isUiDelta : isOpenAiDelta;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error('timed out')), options.timeoutMs ?? 30_000);
  const signal = options.signal ? AbortSignal.any([abort.signal, options.signal]) : abort.signal;
  const started = performance.now();
  const result: TimedStream = {
    status: 0,
    headersMs: null,
    firstEventMs: null,
    ttftMs: null,
    totalMs: 0,
    deltas: 0,
    gapsMs: [],
    done: false,
    finished: false,
  };
  let lastDelta = 0;
  try {
    const response = await fetch(url, { ...init, signal });
    result.status = response.status;
    result.headersMs = performance.now() - started;
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
        result.firstEventMs ??= performance.now() - started;
        if (frame === 'data: [DONE]') result.done = true;
        else if (isDelta(frame)) {
          result.deltas++;
          const now = performance.now();
          if (lastDelta > 0) result.gapsMs.push(now - lastDelta);
          lastDelta = now;
          if (result.ttftMs === null) {
            result.ttftMs = performance.now() - started;
            options.onFirstDelta?.();
          }
        } else if (frame.includes('"type":"finish"')) result.finished = true;
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
