/**
 * Redis restarted mid-run, with two instances: the instance generating the answer writes its whole
 * log again (every event in order, with its expiry), readers that were following neither miss nor
 * repeat an event and a reader arriving afterwards gets a stream the AI SDK accepts
 * (`uiMessageChunkSchema`, `readUIMessageStream`); a stop from another instance still arrives; and
 * if the owner then dies, its partial answer is stored and charged. Both ways Redis can come back:
 * empty (no persistence, like the shared server) and with its data (append-only file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { followSse } from '../support/live-sse.js';
import { instanceEnv, newSession, spawnServer, type ServerProcess } from '../support/server-processes.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';
import { rebuildMessage, textOf, typesOf } from '../support/ui-stream.js';
import { waitUntil } from '../support/wait-until.js';

const json = { 'content-type': 'application/json' };
const words = (text: string) => text.match(/\S+\s*/g)!.map((word) => ({ text: word }));
const PART1 = 'First part before the restart, ';
const PART2 = 'second part after it, ';
const PART3 = 'and the end.';

type Session = {
  status: string;
  lastRunStatus: string;
  messages: { role: string; parts: { text?: string }[] }[];
  usage: { kind: string; promptTokens: number; completionTokens: number; totalTokens: number; estimated?: boolean }[];
};

describe.each([
  { name: 'Redis comes back empty', persist: false },
  { name: 'Redis comes back with its data', persist: true },
])('Redis restarted mid-run: $name', ({ persist }) => {
  let postgres: ThrowawayPostgres;
  let redis: ThrowawayRedis;
  let upstream: FakeUpstream;
  let a: ServerProcess;
  let b: ServerProcess;
  const gate = (name: string) => `${name}-${persist}`;

  beforeAll(async () => {
    [postgres, redis, upstream] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis({ persist }), startFakeUpstream()]);
    const env = instanceEnv(upstream.url, {
      DATABASE_URL: await postgres.createDatabase('restart'),
      REDIS_URL: redis.url,
      // Closing a dead owner's run as interrupted is what this tests; continuing it is test/faults/run-continuation.test.ts.
      RUN_CONTINUE_MAX: '0',
    });
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await upstream?.close();
    await redis?.destroy();
    await postgres?.destroy();
  });

  const restartRedis = async () => {
    await redis.kill();
    await redis.start();
    // Both instances are connected again (their readiness pings Redis).
    await waitUntil(async () => (await fetch(`${a.url}/readyz`)).status === 200 && (await fetch(`${b.url}/readyz`)).status === 200, 20_000);
  };

  it('re-establishes a complete log with its expiry: readers before and after the restart get every event once, valid for the AI SDK', async () => {
    const sessionId = await newSession(a.url);
    upstream.enqueue({
      steps: [...words(PART1), { gate: gate('r1') }, ...words(PART2), { gate: gate('r2') }, ...words(PART3)],
      finishReason: 'stop',
      usage: { prompt_tokens: 9, completion_tokens: 15 },
    });
    const post = await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    const runId = post.headers.get('x-run-id')!;
    const owner = followSse(post);
    await upstream.reached(gate('r1'));
    await owner.until((live) => live.text() === PART1);
    const follower = followSse(await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`));
    await follower.until((live) => live.text() === PART1);

    await restartRedis();
    // The owner wrote the log again, with its expiry (never a log without one).
    const inspect = redis.client();
    await waitUntil(async () => (await inspect.xlen(`autochat:run:${runId}`)) > 1, 10_000);
    expect(await inspect.pttl(`autochat:run:${runId}`)).toBeGreaterThan(0);
    upstream.release(gate('r1'));
    await owner.until((live) => live.text() === PART1 + PART2);

    // A reader arriving after the restart replays it from the first event.
    const late = followSse(await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`));
    await late.until((live) => live.text() === PART1 + PART2);
    expect(await inspect.pttl(`autochat:run:${runId}`)).toBeGreaterThan(0);
    upstream.release(gate('r2'));

    for (const reader of [owner, follower, late]) {
      const stream = await reader.ended;
      expect(stream.invalid).toEqual([]);
      expect(stream.endedWithDone).toBe(true);
      expect(textOf(stream.chunks)).toBe(PART1 + PART2 + PART3);
      const types = typesOf(stream.chunks);
      expect(types[0]).toBe('start');
      expect(types.filter((type) => type === 'start')).toHaveLength(1);
      expect(types.filter((type) => type === 'text-start')).toHaveLength(1);
      expect(types).not.toContain('error');
      expect(types.at(-1)).toBe('finish');
      // useChat's reader: throws on "text-delta for missing text part" and the like.
      const message = await rebuildMessage(stream.chunks);
      expect(
        message!.parts
          .filter((part) => part.type === 'text')
          .map((part) => (part as { text: string }).text)
          .join(''),
      ).toBe(PART1 + PART2 + PART3);
    }
    await waitUntil(async () => (await (await fetch(`${a.url}/api/chat/sessions/${sessionId}`)).json()).status === 'idle', 10_000);
  });

  it('delivers a stop from another instance after the restart', async () => {
    const sessionId = await newSession(a.url);
    upstream.enqueue({ steps: [...words(PART1), { gate: gate('stop') }, ...words(PART2)], finishReason: 'stop' });
    const owner = followSse(
      await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: json, body: '{"message":"Hello"}' }),
    );
    await upstream.reached(gate('stop'));
    await owner.until((live) => live.text() === PART1);
    await restartRedis();

    const stop = await fetch(`${b.url}/api/chat/sessions/${sessionId}/stop`, { method: 'POST' });
    expect(await stop.json()).toEqual({ stopped: true });
    // The owner aborts its upstream call (the fake provider sees the socket close) and stores the partial answer.
    await upstream.waitForEarlyClose(15_000);
    const stream = await owner.ended;
    expect(typesOf(stream.chunks).at(-1)).toBe('abort');
    const session = (await (await fetch(`${b.url}/api/chat/sessions/${sessionId}`)).json()) as Session;
    expect(session.lastRunStatus).toBe('stopped');
    expect(session.messages[1]!.parts.map((part) => part.text ?? '').join('')).toBe(PART1);
    upstream.release(gate('stop'));
  });

  it('stores and charges the partial answer when the owner dies after the restart', async () => {
    const sessionId = await newSession(a.url);
    upstream.enqueue({ steps: [...words(PART1), { gate: gate('crash') }, ...words(PART2)], finishReason: 'stop' });
    const post = await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    const runId = post.headers.get('x-run-id')!;
    const owner = followSse(post);
    await upstream.reached(gate('crash'));
    await owner.until((live) => live.text() === PART1);
    await restartRedis();
    const inspect = redis.client();
    await waitUntil(async () => (await inspect.xlen(`autochat:run:${runId}`)) > 1, 10_000);

    await a.kill();
    let session: Session | undefined;
    await waitUntil(async () => {
      session = (await (await fetch(`${b.url}/api/chat/sessions/${sessionId}`)).json()) as Session;
      return session.status === 'idle';
    }, 20_000);
    expect(session!.lastRunStatus).toBe('interrupted');
    expect(session!.messages[1]!.parts.map((part) => part.text ?? '').join('')).toBe(PART1);
    // Charged: the call in flight, estimated (it reported no usage before it was cut).
    // (The chat's title, asked for once the answer streamed, has a row of its own.)
    const chat = session!.usage.filter((entry) => entry.kind === 'chat');
    expect(chat).toHaveLength(1);
    expect(chat[0]).toMatchObject({ estimated: true });
    expect(chat[0]!.promptTokens).toBeGreaterThan(0);
    expect(chat[0]!.completionTokens).toBe(Math.ceil(PART1.length / 4));
    upstream.release(gate('crash'));
  });
});
