/**
 * Durable runs: an answer survives a dropped connection and is resumable from its first event on any
 * instance; stop works from any instance and really closes the upstream request; one run per session
 * even under concurrent requests on two instances; a crashed owner's run is closed as interrupted
 * with its partial answer (a crashed embedded instance: test/embedded-crash.test.ts). Against real PostgreSQL and Redis with two server processes, and the
 * same behaviour in memory mode in one process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, databaseTargets } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { instanceEnv, newSession, spawnServer, type ServerProcess } from './support/server-processes.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';
import { parseSseText, readSome, readSse, textOf, typesOf } from './support/ui-stream.js';

const json = { 'content-type': 'application/json' };
const send = (url: string, sessionId: string, message: string, signal?: AbortSignal) =>
  fetch(`${url}/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: json, body: JSON.stringify({ message }), signal });
const getSession = async (url: string, sessionId: string) => (await fetch(`${url}/api/chat/sessions/${sessionId}`)).json();

const SLOW = 'one two three four five six seven eight nine ten ';

function behaviours(name: string, setup: () => Promise<{ a: string; b: string; upstream: FakeUpstream; killA?: () => Promise<void> }>) {
  describe(name, () => {
    let env: Awaited<ReturnType<typeof setup>>;
    beforeAll(async () => {
      env = await setup();
    });

    it('resumes from the first event on another instance after the connection drops, then follows live to finish', async () => {
      const sessionId = await newSession(env.a);
      env.upstream.enqueue(say(SLOW.repeat(8), 15));
      const controller = new AbortController();
      const early = await readSome(await send(env.a, sessionId, 'Hello', controller.signal), 6, controller);
      expect(early).toContain('"type":"start"');

      const resumed = await fetch(`${env.b}/api/chat/sessions/${sessionId}/stream`);
      expect(resumed.status).toBe(200);
      expect(resumed.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
      const stream = await readSse(resumed);
      expect(stream.invalid).toEqual([]);
      expect(stream.endedWithDone).toBe(true);
      const types = typesOf(stream.chunks);
      expect(types[0]).toBe('start');
      expect(types.at(-1)).toBe('finish');
      expect(textOf(stream.chunks)).toBe(SLOW.repeat(8));
      const session = await getSession(env.b, sessionId);
      expect(session.status).toBe('idle');
      expect(session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('')).toBe(SLOW.repeat(8));
      expect((await fetch(`${env.b}/api/chat/sessions/${sessionId}/stream`)).status).toBe(204);
    });

    it('stops from another instance: the upstream socket closes, the partial answer is stored, readers end with abort', async () => {
      const sessionId = await newSession(env.a);
      env.upstream.enqueue(say(SLOW.repeat(30), 20));
      const response = await send(env.a, sessionId, 'Hello');
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while ((text.match(/text-delta/g) ?? []).length < 5) text += decoder.decode((await reader.read()).value, { stream: true });
      const stop = await fetch(`${env.b}/api/chat/sessions/${sessionId}/stop`, { method: 'POST' });
      expect(await stop.json()).toEqual({ stopped: true });
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      const stream = await parseSseText(text);
      expect(typesOf(stream.chunks).at(-1)).toBe('abort');
      expect(stream.endedWithDone).toBe(true);
      await env.upstream.waitForEarlyClose();
      const session = await getSession(env.b, sessionId);
      expect(session.lastRunStatus).toBe('stopped');
      expect(session.status).toBe('idle');
      const partial = session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('');
      expect(partial.length).toBeGreaterThan(0);
      expect(SLOW.repeat(30).startsWith(partial)).toBe(true);
      expect(partial.length).toBeLessThan(SLOW.repeat(30).length);
    });

    it('lets exactly one of 20 concurrent stream requests on one session start a run; the rest get 409', async () => {
      const sessionId = await newSession(env.a);
      // The answer waits at a gate until every request has been answered, so the run is active for all
      // of them however slowly a busy machine delivers them.
      const gate = `twenty-${name}`;
      env.upstream.setDefault({ steps: [{ text: 'one ' }, { gate }, { text: 'two' }], finishReason: 'stop' });
      try {
        const responses = await Promise.all(
          Array.from({ length: 20 }, (_, index) => send(index % 2 === 0 ? env.a : env.b, sessionId, `message ${index}`)),
        );
        env.upstream.release(gate);
        const statuses = responses.map((response) => response.status);
        expect(statuses.filter((status) => status === 200)).toHaveLength(1);
        expect(statuses.filter((status) => status === 409)).toHaveLength(19);
        for (const response of responses) {
          if (response.status === 409) expect((await response.json()).error.code).toBe('run_in_progress');
          else await readSse(response);
        }
        const session = await getSession(env.a, sessionId);
        expect(session.messages.filter((message: { role: string }) => message.role === 'user')).toHaveLength(1);
      } finally {
        env.upstream.release(gate);
        const { toolAwareScript } = await import('./support/fake-upstream.js');
        env.upstream.setDefault(toolAwareScript);
      }
    });

    if (name.includes('redis')) {
      it('closes the run of a killed owner as interrupted, storing its partial answer, and frees the session', async () => {
        const sessionId = await newSession(env.a);
        env.upstream.enqueue(say(SLOW.repeat(100), 40));
        const controller = new AbortController();
        await readSome(await send(env.a, sessionId, 'Hello', controller.signal), 12, controller);
        // A reader on B follows the run live while its owner dies.
        const follower = fetch(`${env.b}/api/chat/sessions/${sessionId}/stream`).then(readSse);
        await env.killA!();
        const stream = await follower;
        const types = typesOf(stream.chunks);
        expect(types[0]).toBe('start');
        expect(types.slice(-2)).toEqual(['error', 'finish']);
        expect(stream.endedWithDone).toBe(true);
        const session = await getSession(env.b, sessionId);
        expect(session.status).toBe('idle');
        expect(session.lastRunStatus).toBe('interrupted');
        const partial = session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('');
        expect(partial.startsWith('one two three')).toBe(true);
        // Charged for the call it had in flight: an estimate whose completion is what it had written.
        // (The chat's title, asked for once the answer streamed, has a row of its own.)
        const chat = session.usage.filter((entry: { kind: string }) => entry.kind === 'chat');
        expect(chat).toEqual([expect.objectContaining({ kind: 'chat', estimated: true })]);
        expect(chat[0].completionTokens).toBeGreaterThanOrEqual(Math.ceil(partial.length / 4));
        // The session is usable again.
        const next = await readSse(await send(env.b, sessionId, 'Are you there?'));
        expect(typesOf(next.chunks).at(-1)).toBe('finish');
      });
    }
  });
}

const canScaleOut = Boolean(TEST_DATABASE_URL && TEST_REDIS_URL);
if (!canScaleOut) console.warn('TEST_DATABASE_URL and TEST_REDIS_URL are not both set: the two-process Redis tests are skipped.');

describe.runIf(canScaleOut)('two instances sharing PostgreSQL and Redis', () => {
  let upstream: FakeUpstream;
  let a: ServerProcess;
  let b: ServerProcess;
  let database: Awaited<ReturnType<(typeof databaseTargets)[number]['create']>>;
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await upstream?.close();
    await database?.drop();
  });
  behaviours('redis mode', async () => {
    upstream = await startFakeUpstream();
    database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
    const env = instanceEnv(upstream.url, {
      DATABASE_URL: database.databaseUrl!,
      REDIS_URL: TEST_REDIS_URL!,
      // Closing a dead owner's run as interrupted is what this tests; continuing it is test/faults/run-continuation.test.ts.
      RUN_CONTINUE_MAX: '0',
    });
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    return { a: a.url, b: b.url, upstream, killA: () => a.kill() };
  });
});

describe('one process in memory mode', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });
  behaviours('memory mode', async () => {
    upstream = await startFakeUpstream();
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
    return { a: server.url, b: server.url, upstream };
  });
});
