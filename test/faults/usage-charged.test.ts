/**
 * Every upstream call is charged exactly once, whatever ends the run: a run interrupted by a crash
 * is charged the measured usage of the calls that completed and an estimate for the one in flight
 * (from the progress saved with its lease); a running session deleted from another instance still
 * records its run's usage — whether its owner stops it or is dead. Against PostgreSQL and Redis
 * servers this test starts and controls itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startFakeUpstream, type FakeUpstream, type Script } from '../support/fake-upstream.js';
import { followSse } from '../support/live-sse.js';
import { instanceEnv, newSession, spawnServer, type ServerProcess } from '../support/server-processes.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';
import { waitUntil } from '../support/wait-until.js';

const json = { 'content-type': 'application/json' };
const words = (text: string) => text.match(/\S+\s*/g)!.map((word) => ({ text: word }));
const PARTIAL = 'These agents could help you earn money: ';

/** A tool round (30 + 12 tokens, measured), then an answer that pauses at a gate mid-way. */
const toolThenGated = (gate: string): Script[] => [
  callTool('find_agent', { query: 'money' }),
  {
    steps: [...words(PARTIAL), { gate }, ...words('and more.')],
    finishReason: 'stop',
    usage: { prompt_tokens: 80, completion_tokens: 20 },
  },
];

type Progress = { promptEstimate: number; usage: UsageRow[]; calling: boolean; pendingChars: number };
type UsageRow = {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimated?: boolean;
  kind: string;
  sessionId?: string | null;
};

describe('usage is charged whatever ends the run', () => {
  let postgres: ThrowawayPostgres;
  let redis: ThrowawayRedis;
  let upstream: FakeUpstream;
  const servers: ServerProcess[] = [];
  const directories: string[] = [];

  beforeAll(async () => {
    [postgres, redis, upstream] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis(), startFakeUpstream()]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    await upstream?.close();
    await redis?.destroy();
    await postgres?.destroy();
    for (const directory of directories) await rm(directory, { recursive: true, force: true });
  });

  const baseEnv = () =>
    instanceEnv(upstream.url, {
      // Closing a dead owner's run as interrupted is what this tests; continuing it is test/faults/run-continuation.test.ts.
      RUN_CONTINUE_MAX: '0',
    });
  const start = async (env: Record<string, string>) => {
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  };
  const send = (url: string, sessionId: string) =>
    fetch(`${url}/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: json, body: '{"message":"Find me a money agent"}' });
  /** Waits until the run's saved progress shows the tool round measured and the next call in flight. */
  const progressSaved = async (databaseUrl: string, runId: string, check: (progress: Progress, checkpoint: string | null) => boolean) => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    let progress: Progress | undefined;
    try {
      await waitUntil(async () => {
        const { rows } = await db.query('select progress, checkpoint from chat_runs where id = $1', [runId]);
        progress = rows[0]?.progress ? JSON.parse(rows[0].progress) : undefined;
        return Boolean(progress && check(progress, rows[0].checkpoint));
      }, 15_000);
    } finally {
      await db.end();
    }
    return progress!;
  };
  const usageOf = async (url: string) =>
    ((await (await fetch(`${url}/api/me/export`)).json()).usage as UsageRow[]).filter((row) => row.kind === 'chat');

  it('charges a crash-interrupted run: the completed call as measured, the call in flight estimated', async () => {
    const databaseUrl = await postgres.createDatabase('crash_usage');
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-usage-'));
    directories.push(dataDir);
    // No Redis: the partial answer comes from the checkpoint, the spending from the saved progress.
    const env = { ...baseEnv(), DATABASE_URL: databaseUrl, DATA_DIR: dataDir };
    const first = await start(env);
    const sessionId = await newSession(first.url);
    upstream.enqueue(...toolThenGated('crash'));
    const post = await send(first.url, sessionId);
    const runId = post.headers.get('x-run-id')!;
    const reader = followSse(post);
    await upstream.reached('crash');
    await reader.until((live) => live.text() === PARTIAL);

    // What a crash leaves behind: the progress and checkpoint of the last lease renewal.
    const progress = await progressSaved(
      databaseUrl,
      runId,
      (saved, checkpoint) =>
        saved.calling && saved.usage.length === 1 && saved.pendingChars === PARTIAL.length && Boolean(checkpoint?.includes(PARTIAL)),
    );

    await first.kill();
    const second = await start(env);
    await waitUntil(async () => (await (await fetch(`${second.url}/api/chat/sessions/${sessionId}`)).json()).status === 'idle', 20_000);
    const session = await (await fetch(`${second.url}/api/chat/sessions/${sessionId}`)).json();
    expect(session.lastRunStatus).toBe('interrupted');
    expect(session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('')).toBe(PARTIAL);
    expect(await usageOf(second.url)).toEqual([
      expect.objectContaining({ promptTokens: 30, completionTokens: 12, totalTokens: 42 }),
      expect.objectContaining({ promptTokens: progress!.promptEstimate, completionTokens: Math.ceil(PARTIAL.length / 4), estimated: true }),
    ]);
    expect((await usageOf(second.url))[0]!.estimated).toBeUndefined();
    upstream.release('crash');
  });

  describe('a running session deleted from another instance', () => {
    let env: Record<string, string>;
    beforeAll(async () => {
      env = { ...baseEnv(), DATABASE_URL: await postgres.createDatabase('delete_usage'), REDIS_URL: redis.url };
    });

    it('is stopped by its owner, which records the usage, before the session goes', async () => {
      const [a, b] = await Promise.all([start(env), start(env)]);
      const before = (await usageOf(b.url)).length;
      const sessionId = await newSession(a.url);
      upstream.enqueue(...toolThenGated('delete-live'));
      const reader = followSse(await send(a.url, sessionId));
      await upstream.reached('delete-live');
      await reader.until((live) => live.text() === PARTIAL);

      expect((await fetch(`${b.url}/api/chat/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${b.url}/api/chat/sessions/${sessionId}`)).status).toBe(404);
      await upstream.waitForEarlyClose(10_000);
      const rows = (await usageOf(b.url)).slice(before);
      // Both calls: the tool round as measured, the cut-short answer estimated; the rows outlive the session.
      expect(rows).toEqual([
        expect.objectContaining({ promptTokens: 30, completionTokens: 12, sessionId: null }),
        expect.objectContaining({ completionTokens: Math.ceil(PARTIAL.length / 4), estimated: true, sessionId: null }),
      ]);
      const budget = await (await fetch(`${b.url}/api/usage`)).json();
      expect(budget.daily.used).toBeGreaterThanOrEqual(rows.reduce((sum, row) => sum + row.totalTokens, 0));
      upstream.release('delete-live');
    });

    it('is closed and charged by the deleting instance when its owner is dead', async () => {
      const [a, b] = await Promise.all([start(env), start(env)]);
      const before = (await usageOf(b.url)).length;
      const sessionId = await newSession(a.url);
      upstream.enqueue(...toolThenGated('delete-dead'));
      const post = await send(a.url, sessionId);
      const reader = followSse(post);
      await upstream.reached('delete-dead');
      await reader.until((live) => live.text() === PARTIAL);
      // The owner had saved that its first call completed and its second is in flight; then it dies.
      await progressSaved(env.DATABASE_URL!, post.headers.get('x-run-id')!, (saved) => saved.calling && saved.usage.length === 1);
      await a.kill();

      expect((await fetch(`${b.url}/api/chat/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
      const rows = (await usageOf(b.url)).slice(before);
      expect(rows).toEqual([
        expect.objectContaining({ promptTokens: 30, completionTokens: 12, sessionId: null }),
        expect.objectContaining({ completionTokens: Math.ceil(PARTIAL.length / 4), estimated: true, sessionId: null }),
      ]);
      upstream.release('delete-dead');
    });
  });
});
