/**
 * Follows an SSE response as it arrives, so a test can act at a point of the stream (after the first
 * words, before the end) and then check the whole of it with the AI SDK's own parser.
 */
import type { UIMessageChunk } from 'ai';
import { parseSseText, type ParsedStream } from './ui-stream.js';

export type LiveSse = {
  /** The chunks of every complete frame so far (unvalidated). */
  chunks(): UIMessageChunk[];
  /** The text of the text deltas so far. */
  text(): string;
  /** Resolves once `check` holds for what has arrived (rejects if the stream ends first, or after `timeoutMs`). */
  until(check: (live: LiveSse) => boolean, timeoutMs?: number): Promise<void>;
  /** The whole stream, parsed with `uiMessageChunkSchema`, once it has ended. */
  ended: Promise<ParsedStream>;
  cancel(): Promise<void>;
};

export function followSse(response: Response): LiveSse {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let raw = '';
  let finished = false;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        raw += decoder.decode(value, { stream: true });
        notify();
      }
    } catch {
      // cancelled or cut: what arrived is what there is
    } finally {
      finished = true;
      notify();
    }
    return parseSseText(raw);
  })();

  const live: LiveSse = {
    chunks() {
      const frames = raw.split('\n\n').slice(0, -1);
      return frames
        .map((frame) => frame.replace(/^data: /, ''))
        .filter((data) => data.startsWith('{'))
        .map((data) => JSON.parse(data) as UIMessageChunk);
    },
    text() {
      return live
        .chunks()
        .map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : ''))
        .join('');
    },
    until(check, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(test);
          reject(new Error(`stream condition not met within ${timeoutMs} ms; got: ${raw.slice(-500)}`));
        }, timeoutMs);
        const test = () => {
          if (check(live)) {
            waiters.delete(test);
            clearTimeout(timer);
            resolve();
          } else if (finished) {
            waiters.delete(test);
            clearTimeout(timer);
            reject(new Error(`stream ended before the condition held; got: ${raw.slice(-500)}`));
          }
        };
        waiters.add(test);
        test();
      });
    },
    ended,
    async cancel() {
      await reader.cancel().catch(() => {});
      await ended;
    },
  };
  return live;
}
