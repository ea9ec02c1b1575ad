/**
 * PostgreSQL down as a run ends, with two instances sharing PostgreSQL and Redis: the answer, its
 * usage and its status are stored when the database returns — without restarting autochat — and
 * nothing expires meanwhile; readers get the whole answer and then a sentence that saving is pending
 * (a stream the AI SDK accepts); if the instance that generated it dies during the outage, another
 * stores it, as finished with its real usage — for an agent execution too. Against a PostgreSQL and a Redis server this test
 * starts, kills and restarts itself.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatService } from '../../src/chat/chat-service.js';
import { startFakeUpstream, type FakeUpstream, type Script } from '../support/fake-upstream.js';
import { followSse } from '../support/live-sse.js';
import { instanceEnv, newSession, spawnServer, type ServerProcess } from '../support/server-processes.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';
import { upstreamOptions } from '../support/test-service.js';
import { rebuildMessage, textOf, typesOf } from '../support/ui-stream.js';
import { waitUntil } from '../support/wait-until.js';

const json = { 'content-type': 'application/json' };
const BEFORE = 'The answer begins here and ';
const AFTER = 'it ends after the database went away.';

/** An answer that pauses at a gate after its first words, so the test can act at that point. */
const gated = (gate: string): Script => ({
  steps: [...words(BEFORE), { gate }, ...words(AFTER)],
  finishReason: 'stop',
  usage: { prompt_tokens: 21, completion_tokens: 13 },
});
const words = (text: string) => text.match(/\S+\s*/g)!.map((word) => ({ text: word }));

const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
};

describe('PostgreSQL down as a run ends (two instances, Redis)', () => {
  let postgres: ThrowawayPostgres;
  let redis: ThrowawayRedis;
  let upstream: FakeUpstream;
  let env: Record<string, string>;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    [postgres, redis, upstream] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis(), startFakeUpstream()]);
    env = instanceEnv(upstream.url, {
      DATABASE_URL: await postgres.createDatabase('outage'),
      REDIS_URL: redis.url,
      // Closing a dead owner's run as interrupted is what this tests; continuing it is test/faults/run-continuation.test.ts.
      RUN_CONTINUE_MAX: '0',
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    await upstream?.close();
    await redis?.destroy();
    await postgres?.destroy();
  });

  const start = async () => {
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  };

  it('stores the answer, its usage and its status when the database returns; nothing expires meanwhile', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const sessionId = await newSession(a.url);
    upstream.enqueue(gated('outage-1'));
    const post = await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    const runId = post.headers.get('x-run-id')!;
    const owner = followSse(post);
    await upstream.reached('outage-1');
    await owner.until((live) => live.text() === BEFORE);
    const resumer = followSse(await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`));
    await resumer.until((live) => live.text() === BEFORE);

    await postgres.kill();
    upstream.release('outage-1');

    // Readers get the whole answer, then the sentence that saving is pending, then finish.
    for (const reader of [owner, resumer]) {
      const stream = await reader.ended;
      expect(stream.invalid).toEqual([]);
      expect(stream.endedWithDone).toBe(true);
      expect(textOf(stream.chunks)).toBe(BEFORE + AFTER);
      const types = typesOf(stream.chunks);
      expect(types).not.toContain('error');
      expect(types.slice(-2)).toEqual(['data-save-pending', 'finish']);
      const finish = stream.chunks.at(-1) as { messageMetadata: { savePending: string; usage: { totalTokens: number } } };
      expect(finish.messageMetadata.savePending).toMatch(/saving it is delayed.*saved automatically/);
      expect(finish.messageMetadata.usage.totalTokens).toBe(34);
      // useChat's own reader takes it: the whole answer, with the pending sentence in its metadata.
      const message = await rebuildMessage(stream.chunks);
      expect(
        message!.parts
          .filter((part) => part.type === 'text')
          .map((part) => (part as { text: string }).text)
          .join(''),
      ).toBe(BEFORE + AFTER);
      expect((message!.metadata as { savePending?: string }).savePending).toBeTruthy();
    }

    // Kept in Redis with no expiry, and counted in /metrics, while the database is away.
    const inspect = redis.client();
    expect(await inspect.exists(`autochat:end:${runId}`)).toBe(1);
    expect(await inspect.pttl(`autochat:end:${runId}`)).toBe(-1);
    expect(await metric(a.url, 'autochat_pending_saves')).toBe(1);
    expect(await metric(a.url, 'autochat_pending_save_bytes')).toBeGreaterThan(BEFORE.length + AFTER.length);

    // Meanwhile the API says the service is unavailable, not broken; readiness names the database.
    const during = await fetch(`${b.url}/api/chat/sessions/${sessionId}`);
    expect(during.status).toBe(503);
    expect((await during.json()).error.code).toBe('unavailable');
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
    const ready = await fetch(`${b.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', down: ['database'], checks: { database: false, redis: true } });

    // The settler keeps trying, and nothing it holds expires, however long that takes.
    await waitUntil(async () => (await metric(a.url, 'autochat_pending_save_retries_total')) >= 2, 30_000);
    expect(await inspect.pttl(`autochat:end:${runId}`)).toBe(-1);
    expect(await metric(a.url, 'autochat_pending_saves')).toBe(1);

    await postgres.start();
    let session:
      | {
          status: string;
          lastRunStatus: string;
          messages: { role: string; parts: { text?: string }[] }[];
          usage: { promptTokens: number; completionTokens: number; estimated?: boolean }[];
        }
      | undefined;
    await waitUntil(async () => {
      const response = await fetch(`${b.url}/api/chat/sessions/${sessionId}`);
      if (response.status !== 200) return false;
      session = await response.json();
      return session!.status === 'idle';
    }, 30_000);
    expect(session!.lastRunStatus).toBe('finished');
    expect(session!.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(session!.messages[1]!.parts.map((part) => part.text ?? '').join('')).toBe(BEFORE + AFTER);
    // Its real, measured usage — once.
    expect(session!.usage.filter((row) => (row as { kind?: string }).kind === 'chat')).toEqual([
      expect.objectContaining({ promptTokens: 21, completionTokens: 13 }),
    ]);
    expect(session!.usage[0]!.estimated).toBeUndefined();
    await waitUntil(async () => (await metric(a.url, 'autochat_pending_saves')) === 0, 10_000);
    expect(await inspect.exists(`autochat:end:${runId}`)).toBe(0);
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
  });

  it('if the instance that generated it dies during the outage, another stores it as finished with its usage', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const sessionId = await newSession(a.url);
    upstream.enqueue(gated('outage-2'));
    const post = await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    const runId = post.headers.get('x-run-id')!;
    const owner = followSse(post);
    await upstream.reached('outage-2');
    await owner.until((live) => live.text() === BEFORE);
    await postgres.kill();
    upstream.release('outage-2');
    const stream = await owner.ended;
    expect(typesOf(stream.chunks).slice(-2)).toEqual(['data-save-pending', 'finish']);

    // The generating instance dies before the database returns: only Redis holds the answer.
    await a.kill();
    expect(await redis.client().pttl(`autochat:end:${runId}`)).toBe(-1);
    await postgres.start();

    // B's sweeper finds the run's lease expired, and stores it from the kept end record, not as a
    // partial interrupted answer.
    let session:
      | {
          status: string;
          lastRunStatus: string;
          messages: { parts: { text?: string }[] }[];
          usage: { kind: string; promptTokens: number; completionTokens: number; estimated?: boolean }[];
        }
      | undefined;
    await waitUntil(async () => {
      const response = await fetch(`${b.url}/api/chat/sessions/${sessionId}`);
      if (response.status !== 200) return false;
      session = await response.json();
      return session!.status === 'idle';
    }, 30_000);
    expect(session!.lastRunStatus).toBe('finished');
    expect(session!.messages[1]!.parts.map((part) => part.text ?? '').join('')).toBe(BEFORE + AFTER);
    expect(session!.usage.filter((row) => row.kind === 'chat')).toEqual([
      expect.objectContaining({ promptTokens: 21, completionTokens: 13 }),
    ]);
    expect(await redis.client().exists(`autochat:end:${runId}`)).toBe(0);
  });

  it("keeps an agent execution's end while the database is away; another instance stores it as finished after its owner died", async () => {
    const [a, b] = await Promise.all([start(), start()]);
    upstream.enqueue(gated('outage-execution'));
    const started = await fetch(`${a.url}/api/executions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ slug: 'money-printing-agent', inputs: { skills: 'knitting', startupBudget: 10 } }),
    });
    expect(started.status).toBe(202);
    const { executionId } = (await started.json()) as { executionId: string };
    await upstream.reached('outage-execution');
    const follower = followSse(await fetch(`${b.url}/api/executions/${executionId}/stream`));
    await follower.until((live) => live.text() === BEFORE);

    await postgres.kill();
    upstream.release('outage-execution');
    // Its followers get the whole output and its finish: the end is kept (in Redis, with no expiry).
    const stream = await follower.ended;
    expect(stream.invalid).toEqual([]);
    expect(textOf(stream.chunks)).toBe(BEFORE + AFTER);
    expect(typesOf(stream.chunks).at(-1)).toBe('finish');
    const inspect = redis.client();
    expect(await inspect.pttl(`autochat:end:${executionId}`)).toBe(-1);
    await waitUntil(async () => (await metric(a.url, 'autochat_pending_saves')) === 1, 10_000);

    // Its owner dies before the database returns: only Redis holds the end.
    await a.kill();
    await postgres.start();
    let execution: { status: string; output?: { parts: { text?: string }[] }; usage?: { promptTokens: number; completionTokens: number } } =
      { status: 'unknown' };
    await waitUntil(async () => {
      const response = await fetch(`${b.url}/api/executions/${executionId}`);
      if (response.status !== 200) return false;
      execution = await response.json();
      return execution.status !== 'queued' && execution.status !== 'running';
    }, 30_000);
    expect(execution.status).toBe('finished');
    expect(execution.output!.parts.map((part) => part.text ?? '').join('')).toBe(BEFORE + AFTER);
    // Its real usage, once: not an interrupted run's estimate.
    expect(execution.usage).toMatchObject({ promptTokens: 21, completionTokens: 13 });
    expect(await inspect.exists(`autochat:end:${executionId}`)).toBe(0);
  });

  it('the terminal client prints the answer and the pending sentence, and exits 0 (not an error)', async () => {
    const a = await start();
    upstream.enqueue(gated('outage-cli'));
    const cli = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../../src/cli.ts'), 'chat', '-m', 'Hello', '--url', a.url],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
    cli.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
    const exited = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));
    await upstream.reached('outage-cli');
    await waitUntil(() => stdout.includes(BEFORE.trim()), 20_000);
    await postgres.kill();
    upstream.release('outage-cli');
    expect(await exited).toBe(0);
    expect(stdout).toContain(BEFORE + AFTER);
    expect(stdout).toMatch(/saving it is delayed.*saved automatically/);
    expect(stderr).not.toMatch(/error/i);
    await postgres.start();
  });

  it('does not take a run from its living owner when the database returns after an outage longer than the lease', async () => {
    // Two instances in this process, with a lease long enough that no timer of theirs fires during
    // the test: the sweep is called by hand at the worst moment.
    const databaseUrl = await postgres.createDatabase('living_owner');
    const options = upstreamOptions(upstream.url, { databaseUrl, redisUrl: redis.url, dataDir: 'memory://', runLeaseMs: 600_000 });
    const [a, b] = [await createChatService(options), await createChatService(options)];
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const session = await a.createChatSession('u');
      upstream.enqueue(gated('living-owner'));
      const run = await a.startRun(session.sessionId, 'Hello', { userId: 'u' });
      await upstream.reached('living-owner');
      // What an outage longer than the lease leaves when the database returns: every lease expired,
      // though A is alive and still generating.
      await db.query(`update chat_runs set lease_expires_at = now() - interval '1 minute' where id = $1`, [run.runId]);
      expect(await b.recoverInterruptedRuns()).toBe(0);
      expect((await b.getChatSession(session.sessionId))!.status).toBe('running');

      upstream.release('living-owner');
      expect(await a.waitForRun(run.runId)).toBe('finished');
      const stored = (await b.getChatSession(session.sessionId))!;
      expect(stored.lastRunStatus).toBe('finished');
      expect(stored.messages[1]!.parts.map((part) => (part as { text?: string }).text ?? '').join('')).toBe(BEFORE + AFTER);
    } finally {
      await db.end();
      await a.close();
      await b.close();
    }
  });
});
