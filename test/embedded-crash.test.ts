/**
 * A single embedded instance (PGlite in DATA_DIR) killed with -9 mid-answer: on restart it closes the
 * dead run as interrupted with the partial answer its lease renewals checkpointed, and charges the call
 * in flight as an estimate. In the slow tier: two server processes, each opening the data directory
 * from disk, take most of a minute on a loaded 2-core machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeUpstream, say } from './support/fake-upstream.js';
import { newSession, spawnServer } from './support/server-processes.js';
import { readSome } from './support/ui-stream.js';

const json = { 'content-type': 'application/json' };
const send = (url: string, sessionId: string, message: string, signal?: AbortSignal) =>
  fetch(`${url}/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: json, body: JSON.stringify({ message }), signal });
const getSession = async (url: string, sessionId: string) => (await fetch(`${url}/api/chat/sessions/${sessionId}`)).json();
const SLOW = 'one two three four five six seven eight nine ten ';

describe('crash of a single embedded instance', () => {
  it('on restart, closes the dead run as interrupted with its checkpointed partial answer', { timeout: 180_000 }, async () => {
    const upstream = await startFakeUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-crash-'));
    const env = {
      DATA_DIR: dataDir,
      OPEN_ROUTER_API_KEY: 'test-key',
      LLM_BASE_URL: upstream.url,
      LLM_MAX_RETRIES: '0',
      RUN_LEASE_MS: '900',
    };
    let server = await spawnServer(env);
    try {
      const sessionId = await newSession(server.url);
      upstream.enqueue(say(SLOW.repeat(100), 30));
      const controller = new AbortController();
      await readSome(await send(server.url, sessionId, 'Hello', controller.signal), 40, controller);
      // Let lease renewals (every lease/3 = 300 ms) checkpoint the partial answer, then die. Measured
      // by the answer's own progress rather than a fixed sleep: 40 more words at 30 ms each take the
      // server at least 1.2 s (four renewals), however slowly a loaded machine runs both.
      const resumed = new AbortController();
      await readSome(await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, { signal: resumed.signal }), 80, resumed);
      await server.kill();
      server = await spawnServer(env);
      await expect.poll(async () => (await getSession(server.url, sessionId)).status, { timeout: 10_000 }).toBe('idle');
      const session = await getSession(server.url, sessionId);
      expect(session.lastRunStatus).toBe('interrupted');
      const partial = session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('');
      expect(partial.startsWith('one two three')).toBe(true);
      // The call it had in flight is charged, as an estimate (its usage never arrived).
      expect(session.usage.filter((entry: { kind: string }) => entry.kind === 'chat')).toEqual([
        expect.objectContaining({ kind: 'chat', estimated: true }),
      ]);
      expect(session.usage.every((entry: { totalTokens: number }) => entry.totalTokens > 0)).toBe(true);
      expect((await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`)).status).toBe(204);
    } finally {
      await server.stop();
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
