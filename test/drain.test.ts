/**
 * Draining on SIGTERM, as `autochat serve` does it with the default SHUTDOWN_GRACE_MS: readiness
 * fails at once (503 from a listener that still answers), a new message is refused with 503 and
 * Retry-After, and an answer longer than the old fixed 10 s still finishes, reaches its reader and
 * is stored; then the process exits 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCli } from './support/cli-process.js';
import { startFakeUpstream, type FakeUpstream, type Script } from './support/fake-upstream.js';
import { readSse, textOf } from './support/ui-stream.js';
import { waitUntil } from './support/wait-until.js';

/** 24 words, 500 ms apart: about 12 s, longer than the grace period used to be. */
const WORDS = Array.from({ length: 24 }, (_, index) => `word${index} `);
const slowAnswer: Script = {
  steps: WORDS.map((text) => ({ text, delayMs: 500 })),
  finishReason: 'stop',
  usage: { prompt_tokens: 20, completion_tokens: 24 },
};

describe('SIGTERM drains the instance', () => {
  let dataDir: string;
  let upstream: FakeUpstream;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'autochat-drain-'));
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('fails readiness at once, refuses new messages with 503 and Retry-After, and lets a 12 s answer finish', async () => {
    const env = { DATA_DIR: dataDir, OPEN_ROUTER_API_KEY: 'k', LLM_BASE_URL: upstream.url, LLM_MAX_RETRIES: '0' };
    const server = await serveCli(env);
    const newSession = async () =>
      ((await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json()) as { sessionId: string }).sessionId;
    const [sessionId, other] = [await newSession(), await newSession()];
    upstream.enqueue(slowAnswer);
    const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"Tell me a long story"}',
    });
    expect(response.status).toBe(200);
    const reading = readSse(response);
    await waitUntil(() => upstream.requests.some((request) => request.body.stream === true), 10_000);
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');

    await waitUntil(async () => (await fetch(`${server.url}/readyz`)).status === 503, 2000, 20);
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: { accepting: boolean } };
    expect(ready.checks.accepting).toBe(false);
    expect(Date.now() - signalledAt).toBeLessThan(2000);

    const refused = await fetch(`${server.url}/api/chat/sessions/${other}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"Hello"}',
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('upstream_unavailable');

    const stream = await reading;
    expect(stream.invalid).toEqual([]);
    expect(stream.chunks.at(-1)!.type).toBe('finish');
    expect(textOf(stream.chunks)).toBe(WORDS.join(''));
    expect(Date.now() - signalledAt).toBeGreaterThan(10_000);
    expect(await server.exited).toBe(0);

    const again = await serveCli(env);
    try {
      const session = (await (await fetch(`${again.url}/api/chat/sessions/${sessionId}`)).json()) as {
        lastRunStatus: string;
        messages: { role: string; parts: { text?: string }[] }[];
      };
      expect(session.lastRunStatus).toBe('finished');
      expect(session.messages[1]!.parts.map((part) => part.text ?? '').join('')).toBe(WORDS.join(''));
      // The refused message left nothing behind.
      const refusedSession = (await (await fetch(`${again.url}/api/chat/sessions/${other}`)).json()) as { messages: unknown[] };
      expect(refusedSession.messages).toEqual([]);
    } finally {
      await again.stop();
    }
  }, 150_000);
});
