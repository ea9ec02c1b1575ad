/**
 * Budgets hold under concurrency: with DAILY_TOKEN_LIMIT=1000, 50 messages sent at once on 50 sessions
 * (one process on PGlite; two server processes sharing PostgreSQL and Redis) spend at most the limit
 * plus one answer's worth, because admission reserves an estimate per running answer in the same
 * statement that claims the session. A refused request leaves no reservation and no message; an
 * ended run releases its reservation; a crashed run's reservation ends with its lease.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../src/http/middleware/jwt.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, databaseTargets } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream, type Script } from './support/fake-upstream.js';
import { spawnServer, type ServerProcess } from './support/server-processes.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';
import { readSse, typesOf } from './support/ui-stream.js';

const LIMIT = 1000;
const CONCURRENT = 50;
const SECRET = 'budget-secret';
/** What one answer costs upstream: 343 tokens, streamed slowly enough that all 50 overlap. */
const ANSWER_USAGE = { prompt_tokens: 300, completion_tokens: 43 };
const answer = (): Script => ({ ...say('A measured answer that takes a little while to stream out. '.repeat(2), 15), usage: ANSWER_USAGE });
/** The title call after a first answer (the fake upstream's usage for `say('A title')`). */
const TITLE_TOKENS = 20 + 2;
const scripted = (request: { body: { stream?: boolean } }): Script => (request.body.stream ? answer() : say('A title'));

const headersFor = (user: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${signJwt({ sub: user }, SECRET)}` });

type Outcome = { status: number; code?: string; ended?: string };

/** Sends one message per session at once, spread over the instances, and reads every answer to its end. */
async function burst(urls: string[], user: string): Promise<{ outcomes: Outcome[]; sessionIds: string[] }> {
  const headers = headersFor(user);
  const sessionIds = await Promise.all(
    Array.from(
      { length: CONCURRENT },
      async (_, index) =>
        (await (await fetch(`${urls[index % urls.length]}/api/chat/sessions`, { method: 'POST', headers })).json()).sessionId as string,
    ),
  );
  const outcomes = await Promise.all(
    sessionIds.map(async (sessionId, index): Promise<Outcome> => {
      const response = await fetch(`${urls[index % urls.length]}/api/chat/sessions/${sessionId}/stream`, {
        method: 'POST',
        headers,
        body: '{"message":"Tell me something"}',
      });
      if (response.status !== 200) return { status: response.status, code: (await response.json()).error.code };
      return { status: 200, ended: typesOf((await readSse(response)).chunks).at(-1) };
    }),
  );
  return { outcomes, sessionIds };
}

/** Asserts the budget held, and returns the figures for the report line. */
async function checkBurst(urls: string[], user: string, label: string) {
  const { outcomes, sessionIds } = await burst(urls, user);
  const admitted = outcomes.filter((outcome) => outcome.status === 200);
  const refused = outcomes.filter((outcome) => outcome.status !== 200);
  expect(admitted.length).toBeGreaterThanOrEqual(1);
  for (const outcome of admitted) expect(outcome.ended).toBe('finish');
  for (const outcome of refused) expect(outcome).toEqual({ status: 429, code: 'usage_limit_exceeded' });

  // Titles are generated after an answer finishes: wait until every admitted session has one.
  const headers = headersFor(user);
  const sessions = async () =>
    Promise.all(
      sessionIds.map(async (id, index) => (await fetch(`${urls[index % urls.length]}/api/chat/sessions/${id}`, { headers })).json()),
    );
  await expect
    .poll(async () => (await sessions()).filter((session) => session.title !== null).length, { timeout: 20_000 })
    .toBe(admitted.length);
  const stored = await sessions();
  // A refused request stored nothing; an admitted one stored its message and answer.
  expect(stored.filter((session) => session.messages.length === 0)).toHaveLength(refused.length);
  expect(stored.filter((session) => session.messages.length === 2)).toHaveLength(admitted.length);
  expect(stored.every((session) => session.status === 'idle')).toBe(true);

  const used = (await (await fetch(`${urls[0]}/api/usage`, { headers })).json()).daily.used as number;
  const oneAnswer = ANSWER_USAGE.prompt_tokens + ANSWER_USAGE.completion_tokens + TITLE_TOKENS;
  console.log(
    `budget admission (${label}): ${CONCURRENT} sent at once, ${admitted.length} admitted, ${refused.length} refused; ` +
      `${used} tokens used of a ${LIMIT} limit (×${(used / LIMIT).toFixed(2)}; one answer is ${oneAnswer})`,
  );
  expect(used).toBeLessThanOrEqual(LIMIT + oneAnswer);

  // Every reservation ended with its run: the next message is admitted again while budget is left.
  if (used < LIMIT) {
    const next = await fetch(`${urls[0]}/api/chat/sessions/${sessionIds[0]}/stream`, {
      method: 'POST',
      headers,
      body: '{"message":"One more"}',
    });
    expect(next.status).toBe(200);
    await readSse(next);
  }
  return { admitted: admitted.length, used };
}

describe.each(databaseTargets)('budget admission under concurrency on $name', (target) => {
  let upstream: FakeUpstream;
  let database: Awaited<ReturnType<typeof target.create>>;
  let urls: string[] = [];
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setDefault(scripted);
    database = await target.create();
    if (target.name === 'pglite') {
      const server = await startTestServer(
        upstreamOptions(upstream.url, {
          databaseUrl: database.databaseUrl,
          dataDir: database.dataDir,
          authJwtSecret: SECRET,
          limits: { dailyTokens: LIMIT },
        }),
      );
      urls = [server.url];
      close = () => server.close();
    } else {
      const env = {
        DATABASE_URL: database.databaseUrl!,
        ...(TEST_REDIS_URL ? { REDIS_URL: TEST_REDIS_URL } : {}),
        OPEN_ROUTER_API_KEY: 'k',
        LLM_BASE_URL: upstream.url,
        LLM_MAX_RETRIES: '0',
        AUTH_JWT_SECRET: SECRET,
        RATE_LIMIT_PER_MINUTE: '0',
        DAILY_TOKEN_LIMIT: String(LIMIT),
      };
      const servers: ServerProcess[] = await Promise.all([spawnServer(env), spawnServer(env)]);
      urls = servers.map((server) => server.url);
      close = async () => void (await Promise.all(servers.map((server) => server.stop())));
    }
  });
  afterAll(async () => {
    await close();
    await upstream?.close();
    await database?.drop();
  });

  it(`spends at most the limit and one answer when ${CONCURRENT} messages arrive at once`, async () => {
    await checkBurst(
      urls,
      `burst-${randomBytes(4).toString('hex')}`,
      `${target.name}, ${urls.length} instance${urls.length > 1 ? 's' : ''}`,
    );
  });
});

describe('a crashed run’s reservation', () => {
  it('holds the budget while its lease lasts and is released when the run is recovered (PGlite, kill -9, restart)', async () => {
    const upstream = await startFakeUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-reserve-'));
    const env = {
      DATA_DIR: dataDir,
      OPEN_ROUTER_API_KEY: 'k',
      LLM_BASE_URL: upstream.url,
      LLM_MAX_RETRIES: '0',
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      DAILY_TOKEN_LIMIT: String(LIMIT),
      RUN_LEASE_MS: '900',
    };
    let server = await spawnServer(env);
    const headers = headersFor('crash');
    const newSession = async () =>
      (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers })).json()).sessionId as string;
    try {
      const [first, second] = [await newSession(), await newSession()];
      upstream.enqueue({ steps: [{ text: 'this answer never ends' }, { hang: true }] });
      const reader = new AbortController();
      const running = await fetch(`${server.url}/api/chat/sessions/${first}/stream`, {
        method: 'POST',
        headers,
        body: '{"message":"go"}',
        signal: reader.signal,
      });
      expect(running.status).toBe(200);
      const refused = await fetch(`${server.url}/api/chat/sessions/${second}/stream`, {
        method: 'POST',
        headers,
        body: '{"message":"and this"}',
      });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.message).toMatch(/answers you are already waiting for may use the rest of your daily budget/);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(10);

      await server.kill();
      reader.abort();
      server = await spawnServer(env);
      // Recovery at start closes the dead run as interrupted, and with it ends its reservation.
      await expect
        .poll(async () => (await (await fetch(`${server.url}/api/chat/sessions/${first}`, { headers })).json()).status, { timeout: 10_000 })
        .toBe('idle');
      upstream.enqueue(say('admitted again'));
      const admitted = await fetch(`${server.url}/api/chat/sessions/${second}/stream`, {
        method: 'POST',
        headers,
        body: '{"message":"and this"}',
      });
      expect(admitted.status).toBe(200);
      expect(typesOf((await readSse(admitted)).chunks).at(-1)).toBe('finish');
    } finally {
      await server.stop();
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000); // two embedded-database processes in turn: slow on a busy machine

  it.runIf(Boolean(TEST_DATABASE_URL))(
    'leaves no reservation behind a refused request, and none after runs end (PostgreSQL rows)',
    async () => {
      const upstream = await startFakeUpstream();
      upstream.setDefault(scripted);
      const database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
      const server = await startTestServer(
        upstreamOptions(upstream.url, { databaseUrl: database.databaseUrl, authJwtSecret: SECRET, limits: { dailyTokens: LIMIT } }),
      );
      const client = new pg.Client({ connectionString: database.databaseUrl });
      await client.connect();
      try {
        await burst([server.url], 'rows');
        const { rows } =
          await client.query(`select count(*)::int as running, coalesce(sum(reserved_tokens) filter (where status = 'running'), 0)::int as held,
        count(*) filter (where reserved_tokens > 0)::int as reserved_runs, (select count(*)::int from chat_runs) as runs from chat_runs where status = 'running'`);
        expect(rows[0]).toMatchObject({ running: 0, held: 0 });
        const all = await client.query(`select count(*)::int as runs, min(reserved_tokens)::int as smallest from chat_runs`);
        // Only admitted requests made runs, and each of them had reserved an estimate while it ran.
        expect(all.rows[0].runs).toBeGreaterThanOrEqual(1);
        expect(all.rows[0].runs).toBeLessThan(CONCURRENT);
        expect(all.rows[0].smallest).toBeGreaterThan(ANSWER_USAGE.prompt_tokens + ANSWER_USAGE.completion_tokens);
      } finally {
        await client.end();
        await server.close();
        await upstream.close();
        await database.drop();
      }
    },
  );
});
