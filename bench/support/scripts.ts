/**
 * The upstream scripts every scenario is run against. Timing is fixed, so that between the direct,
 * baseline and autochat paths only the server's own overhead differs.
 */
import type { Script } from '../../test/support/fake-upstream.js';

/** First text chunk after this many ms (the "model" thinking). */
export const FIRST_CHUNK_MS = 20;
/** Then one chunk every this many ms (50 tokens/s, a typical hosted model's pace). */
export const CHUNK_MS = 20;
/** Text chunks per answer. */
export const CHUNKS = 10;

const words = (count: number, delayFirst: number, delayRest: number) =>
  Array.from({ length: count }, (_, index) => ({ text: `word${index} `, delayMs: index === 0 ? delayFirst : delayRest }));

/** A short answer: 10 chunks, the first after 20 ms, then every 20 ms (≈200 ms in all). */
export const standardScript: Script = {
  steps: words(CHUNKS, FIRST_CHUNK_MS, CHUNK_MS),
  finishReason: 'stop',
  usage: { prompt_tokens: 40, completion_tokens: CHUNKS },
};

/** An answer that stays open for minutes with a chunk every second: an idle-ish open stream. */
export const slowScript: Script = {
  steps: words(180, FIRST_CHUNK_MS, 1000),
  finishReason: 'stop',
  usage: { prompt_tokens: 40, completion_tokens: 180 },
};

/** An answer that takes ≈3 s: long enough to disconnect and reconnect while it runs. */
export const longScript: Script = {
  steps: words(60, FIRST_CHUNK_MS, 50),
  finishReason: 'stop',
  usage: { prompt_tokens: 40, completion_tokens: 60 },
};

/** Time between text chunks of the instant script: a fast model's pace, and the spacing a reader should see. */
export const INSTANT_GAP_MS = 5;

/** A model that starts at once: the first text chunk with the response headers, then one every 5 ms. */
export const instantScript: Script = {
  steps: words(CHUNKS, 0, INSTANT_GAP_MS),
  finishReason: 'stop',
  usage: { prompt_tokens: 40, completion_tokens: CHUNKS },
};

export const benchScripts: Record<string, Script> = { default: standardScript, slow: slowScript, long: longScript, instant: instantScript };
