/**
 * No answer is cut when its instance goes away, with two instances on PostgreSQL and Redis:
 * - killed with -9 mid-answer: once its lease expires the other instance takes the run over (one
 *   atomic claim), asks the model again with the partial answer as a trailing assistant message, and
 *   appends to the same log and message — the answer ends `finished`, holds everything streamed before
 *   the kill, is marked continued, is charged once per upstream call, and a reader re-attaching
 *   mid-continuation gets one answer the AI SDK accepts (one start, one text part, finish at the end);
 * - stopped (SIGTERM) with an answer longer than its SHUTDOWN_GRACE_MS: it hands the run on at the
 *   end of its grace, the other instance continues it at once, the reader connected to the stopping
 *   instance follows it to its end, and then that instance exits 0;
 * - killed again while continuing: a third instance continues it (`continuations: 2`), charged once
 *   per upstream call across all three;
 * - with RUN_CONTINUE_MAX reached, the answer ends `interrupted` as before.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, toolAwareScript, type FakeUpstream, type ScriptStep } from '../support/fake-upstream.js';
import { followSse } from '../support/live-sse.js';
import { instanceEnv, newSession, spawnServer, type ServerProcess } from '../support/server-processes.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';
import { rebuildMessage, textOf, typesOf } from '../support/ui-stream.js';
import { waitUntil } from '../support/wait-until.js';

const json = { 'content-type': 'application/json' };
const words = (text: string, delayMs = 0): ScriptStep[] => text.match(/\S+\s*/g)!.map((word) => ({ text: word, delayMs }));
const BEFORE = 'The agents that fit best are Money Printer, ';
const AFTER_1 = 'Budget Buddy ';
const AFTER_2 = 'and Tax Helper.';

type Session = {
  title: string | null;
  status: string;
  lastRunStatus: string;
  messages: { id: string; role: string; parts: { type: string; text?: string }[]; metadata?: { continuations?: number } }[];
  usage: { kind: string; totalTokens: number; estimated?: boolean }[];
};

describe('continuing an answer on another instance', () => {
  let postgres: ThrowawayPostgres;
  let redis: ThrowawayRedis;
  let upstream: FakeUpstream;
  let env: Record<string, string>;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    [postgres, redis, upstream] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis(), startFakeUpstream()]);
    env = instanceEnv(upstream.url, { DATABASE_URL: await postgres.createDatabase('continue'), REDIS_URL: redis.url });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    await upstream?.close();
    await redis?.destroy();
    await postgres?.destroy();
  });

  const start = async (extra: Record<string, string> = {}) => {
    const server = await spawnServer({ ...env, ...extra });
    servers.push(server);
    return server;
  };
  const session = async (url: string, id: string) => (await (await fetch(`${url}/api/chat/sessions/${id}`)).json()) as Session;
  const streamRequests = () => upstream.requests.filter((request) => request.body.stream === true);

  it('kill -9 mid-answer: the other instance continues the same answer, and every reader sees one answer', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const sessionId = await newSession(a.url);
    // Titles (the calls not streamed) wait until the answer is over: A dies before it names the chat.
    upstream.setDefault({ steps: [{ gate: 'title' }, { text: 'Agents that make money' }], finishReason: 'stop' });
    upstream.enqueue({ steps: [...words(BEFORE), { gate: 'killed' }, ...words('never sent')], finishReason: 'stop' });
    const post = await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Which agents make money?"}',
    });
    expect(post.status).toBe(200);
    const owner = followSse(post);
    await upstream.reached('killed');
    await owner.until((live) => live.text() === BEFORE);
    const follower = followSse(await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`));
    await follower.until((live) => live.text() === BEFORE);
    const messageId = owner.chunks().find((chunk) => chunk.type === 'start')!.messageId;

    // The continuation: what the model says when shown the partial answer.
    upstream.enqueue({
      steps: [...words(AFTER_1), { gate: 'continuing' }, ...words(AFTER_2)],
      finishReason: 'stop',
      usage: { prompt_tokens: 60, completion_tokens: 6 },
    });
    const callsBefore = streamRequests().length;
    const killedAt = performance.now();
    await a.kill();
    await follower.until((live) => live.text().length > BEFORE.length, 20_000);
    console.log(`continuation: the answer went on ${Math.round(performance.now() - killedAt)} ms after kill -9 (RUN_LEASE_MS=1500)`);
    await upstream.reached('continuing');
    await follower.until((live) => live.text() === BEFORE + AFTER_1, 20_000);

    // A reader re-attaching now (as useChat's resume does) replays the whole answer, then follows it.
    const late = followSse(await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`));
    await late.until((live) => live.text() === BEFORE + AFTER_1);
    upstream.release('continuing');

    for (const reader of [follower, late]) {
      const stream = await reader.ended;
      expect(stream.invalid).toEqual([]);
      expect(stream.endedWithDone).toBe(true);
      expect(textOf(stream.chunks)).toBe(BEFORE + AFTER_1 + AFTER_2);
      const types = typesOf(stream.chunks);
      expect(types.filter((type) => type === 'start')).toHaveLength(1);
      expect(types.filter((type) => type === 'text-start')).toHaveLength(1);
      expect(types.filter((type) => type === 'start-step')).toHaveLength(1);
      expect(types).not.toContain('error');
      expect(types.at(-1)).toBe('finish');
      expect(stream.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { continuations: 1 } });
      const message = await rebuildMessage(stream.chunks);
      expect(message!.id).toBe(messageId);
      expect(message!.parts.filter((part) => part.type === 'text')).toEqual([
        { type: 'text', text: BEFORE + AFTER_1 + AFTER_2, state: 'done' },
      ]);
    }

    // The model was asked once more, with the history and the partial answer as a trailing assistant message.
    const continued = streamRequests().slice(callsBefore);
    expect(continued).toHaveLength(1);
    const messages = continued[0]!.body.messages;
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: BEFORE });
    expect(messages.at(-2)).toMatchObject({ role: 'user', content: 'Which agents make money?' });
    expect(JSON.stringify(messages[0])).toContain('cut off');

    await waitUntil(async () => (await session(b.url, sessionId)).status === 'idle', 10_000);
    const stored = await session(b.url, sessionId);
    expect(stored.lastRunStatus).toBe('finished');
    expect(stored.messages).toHaveLength(2);
    expect(stored.messages[1]!.id).toBe(messageId);
    expect(stored.messages[1]!.parts.filter((part) => part.type === 'text').map((part) => part.text)).toEqual([BEFORE + AFTER_1 + AFTER_2]);
    expect(stored.messages[1]!.metadata?.continuations).toBe(1);
    // Charged once per upstream call: the killed call (estimated from what it streamed) and the continuation (measured).
    const chat = stored.usage.filter((entry) => entry.kind === 'chat');
    expect(chat).toHaveLength(2);
    expect(chat.filter((entry) => entry.estimated)).toHaveLength(1);
    expect(chat.find((entry) => !entry.estimated)!.totalTokens).toBe(66);
    expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(/^autochat_runs_continued_total 1$/m);
    // The continued first answer names the chat, as its first owner would have.
    expect((await session(b.url, sessionId)).title).toBeNull();
    upstream.release('title');
    await waitUntil(async () => (await session(b.url, sessionId)).title === 'Agents that make money', 10_000);
    upstream.setDefault(toolAwareScript);
    await b.kill();
  }, 120_000);

  it('SIGTERM with an answer longer than SHUTDOWN_GRACE_MS: the run is handed on at the end of the grace and finished elsewhere', async () => {
    const [a, b] = await Promise.all([start({ SHUTDOWN_GRACE_MS: '1000' }), start()]);
    const sessionId = await newSession(a.url);
    upstream.enqueue({ steps: [...words(BEFORE), { gate: 'draining' }, ...words('never sent')], finishReason: 'stop' });
    const owner = followSse(
      await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
        method: 'POST',
        headers: json,
        body: '{"message":"Which agents make money?"}',
      }),
    );
    await upstream.reached('draining');
    await owner.until((live) => live.text() === BEFORE);
    const follower = followSse(await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`));
    await follower.until((live) => live.text() === BEFORE);

    upstream.enqueue({ steps: words(AFTER_1 + AFTER_2, 20), finishReason: 'stop', usage: { prompt_tokens: 60, completion_tokens: 6 } });
    await a.stop();
    expect(a.child.exitCode).toBe(0);
    // The reader connected to the stopping instance followed the continued answer to its end, then it exited.
    const own = await owner.ended;
    expect(textOf(own.chunks)).toBe(BEFORE + AFTER_1 + AFTER_2);
    expect(typesOf(own.chunks).at(-1)).toBe('finish');
    const stream = await follower.ended;
    expect(stream.invalid).toEqual([]);
    expect(textOf(stream.chunks)).toBe(BEFORE + AFTER_1 + AFTER_2);
    expect(typesOf(stream.chunks).filter((type) => type === 'start')).toHaveLength(1);
    expect(typesOf(stream.chunks).at(-1)).toBe('finish');
    await rebuildMessage(stream.chunks);

    await waitUntil(async () => (await session(b.url, sessionId)).status === 'idle', 10_000);
    const stored = await session(b.url, sessionId);
    expect(stored.lastRunStatus).toBe('finished');
    expect(stored.messages[1]!.parts.filter((part) => part.type === 'text').map((part) => part.text)).toEqual([BEFORE + AFTER_1 + AFTER_2]);
    expect(stored.messages[1]!.metadata?.continuations).toBe(1);
    upstream.release('draining');
    await b.kill();
  }, 120_000);

  it('killed again while continuing: a third instance continues it, and every call is charged once', async () => {
    const trio = await Promise.all([start(), start(), start()]);
    const [a] = trio;
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      const sessionId = await newSession(a.url);
      const MID = 'Budget Buddy, ';
      upstream.enqueue({ steps: [...words(BEFORE), { gate: 'first-kill' }, ...words('never sent')], finishReason: 'stop' });
      const post = await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
        method: 'POST',
        headers: json,
        body: '{"message":"Which agents make money?"}',
      });
      const runId = post.headers.get('x-run-id')!;
      const owner = followSse(post);
      await upstream.reached('first-kill');
      await owner.until((live) => live.text() === BEFORE);
      upstream.enqueue({ steps: [...words(MID), { gate: 'second-kill' }, ...words('never sent either')], finishReason: 'stop' });
      await a.kill();
      await upstream.reached('second-kill');
      // Which instance continues it: the claim made it the run's owner.
      const holderOf = async () =>
        (await db.query<{ owner: string; progress: string | null }>('select owner, progress from chat_runs where id = $1', [runId]))
          .rows[0]!;
      let held = await holderOf();
      const continuing = trio.find((server) => server !== a && held.owner.includes(`:${server.child.pid}:`))!;
      const survivor = trio.find((server) => server !== a && server !== continuing)!;
      expect(continuing).toBeDefined();
      expect(survivor).toBeDefined();
      const follower = followSse(await fetch(`${survivor.url}/api/chat/sessions/${sessionId}/stream`));
      await follower.until((live) => live.text() === BEFORE + MID, 20_000);
      // The continuing instance's lease renewal has saved what it spent (the first call, and its own call in flight).
      await waitUntil(async () => {
        held = await holderOf();
        const progress = held.progress
          ? (JSON.parse(held.progress) as { usage: unknown[]; calling: boolean; pendingChars: number })
          : undefined;
        return progress !== undefined && progress.usage.length === 1 && progress.calling && progress.pendingChars > 0;
      }, 10_000);

      upstream.enqueue({ steps: words(AFTER_2), finishReason: 'stop', usage: { prompt_tokens: 70, completion_tokens: 4 } });
      const callsBefore = streamRequests().length;
      await continuing.kill();
      const stream = await follower.ended;
      expect(stream.invalid).toEqual([]);
      expect(textOf(stream.chunks)).toBe(BEFORE + MID + AFTER_2);
      const types = typesOf(stream.chunks);
      expect(types.filter((type) => type === 'start')).toHaveLength(1);
      expect(types.filter((type) => type === 'text-start')).toHaveLength(1);
      expect(stream.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { continuations: 2 } });
      await rebuildMessage(stream.chunks);
      expect(streamRequests().slice(callsBefore)[0]!.body.messages.at(-1)).toMatchObject({ role: 'assistant', content: BEFORE + MID });

      await waitUntil(async () => (await session(survivor.url, sessionId)).status === 'idle', 10_000);
      const stored = await session(survivor.url, sessionId);
      expect(stored.lastRunStatus).toBe('finished');
      expect(stored.messages[1]!.parts.filter((part) => part.type === 'text').map((part) => part.text)).toEqual([BEFORE + MID + AFTER_2]);
      expect(stored.messages[1]!.metadata?.continuations).toBe(2);
      const chat = stored.usage.filter((entry) => entry.kind === 'chat');
      expect(chat).toHaveLength(3);
      expect(chat.filter((entry) => entry.estimated)).toHaveLength(2);
      expect(chat.find((entry) => !entry.estimated)!.totalTokens).toBe(74);
      upstream.release('first-kill');
      upstream.release('second-kill');
      await survivor.kill();
    } finally {
      await db.end();
    }
  }, 120_000);

  it('with RUN_CONTINUE_MAX reached, the answer ends interrupted with what it had, as before', async () => {
    const [a, b] = await Promise.all([start({ RUN_CONTINUE_MAX: '0' }), start({ RUN_CONTINUE_MAX: '0' })]);
    const sessionId = await newSession(a.url);
    upstream.enqueue({ steps: [...words(BEFORE), { gate: 'limit' }, ...words('never sent')], finishReason: 'stop' });
    const owner = followSse(
      await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
        method: 'POST',
        headers: json,
        body: '{"message":"Which agents make money?"}',
      }),
    );
    await upstream.reached('limit');
    await owner.until((live) => live.text() === BEFORE);
    const callsBefore = streamRequests().length;
    await a.kill();
    await waitUntil(async () => (await session(b.url, sessionId)).status === 'idle', 20_000);
    const stored = await session(b.url, sessionId);
    expect(stored.lastRunStatus).toBe('interrupted');
    expect(stored.messages[1]!.parts.filter((part) => part.type === 'text').map((part) => part.text)).toEqual([BEFORE]);
    expect(streamRequests().length).toBe(callsBefore);
    upstream.release('limit');
    await b.kill();
  }, 120_000);
});
