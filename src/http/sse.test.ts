import type { UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { sseResponse } from './sse.js';

describe('sseResponse', () => {
  it('frames events as data lines, sends heartbeats during silence, and ends with [DONE]', async () => {
    // Silent after `start` until the client has seen a heartbeat: however late timers fire, one comes.
    let heard!: () => void;
    const heartbeatHeard = new Promise<void>((resolve) => (heard = resolve));
    async function* quietAfterStart(): AsyncGenerator<UIMessageChunk> {
      yield { type: 'start' };
      await heartbeatHeard;
      yield { type: 'finish' };
    }
    const response = sseResponse(quietAfterStart, { heartbeatMs: 40 });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      text += read.value;
      if (text.includes(': heartbeat\n\n')) heard();
    }
    expect(text.startsWith('data: {"type":"start"}\n\n: heartbeat\n\n')).toBe(true);
    expect(text.endsWith('data: {"type":"finish"}\n\ndata: [DONE]\n\n')).toBe(true);
  });

  it('stops reading events when the client goes away', async () => {
    let produced = 0;
    let closed = false;
    async function* endless(signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
      while (!signal.aborted) {
        produced++;
        yield { type: 'text-delta', id: 't', delta: 'x' };
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const response = sseResponse(endless, { onClose: () => (closed = true) });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    const after = produced;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(produced).toBeLessThanOrEqual(after + 1);
    expect(closed).toBe(true);
  });

  it('ends with an error event and finish if the log cannot be read', async () => {
    // biome-ignore lint/correctness/useYield: a log that fails before its first event
    async function* broken(): AsyncGenerator<UIMessageChunk> {
      throw new Error('redis went away');
    }
    const text = await sseResponse(broken).text();
    expect(text).toContain('"type":"error"');
    expect(text).toContain('data: {"type":"finish"}');
    expect(text).not.toContain('redis went away');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
