/**
 * Budgets and rate limits (per user, shared by instances), GDPR export and erasure, encryption at
 * rest, and logs that never hold message content.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatService } from '../src/index.js';
import { signJwt } from '../src/http/middleware/jwt.js';
import type { RunningServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, databaseTargets } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { spawnServer, type ServerProcess } from './support/server-processes.js';
import { startTestServer, testOptions, upstreamOptions } from './support/test-service.js';
import { readSse, typesOf } from './support/ui-stream.js';

const json = { 'content-type': 'application/json' };

describe('budgets and rate limits in one process', () => {
  let server: RunningServer;
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    server = await startTestServer(
      upstreamOptions(upstream.url, { dataDir: 'memory://', limits: { dailyTokens: 60, weeklyTokens: 1000, requestsPerMinute: 4 } }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('refuses with 429 usage_limit_exceeded, Retry-After and the reset time once the daily budget is spent', async () => {
    const sessionId = (await (await server.app.request('/api/chat/sessions', { method: 'POST' })).json()).sessionId;
    upstream.enqueue({ steps: [{ text: 'spent' }], usage: { prompt_tokens: 50, completion_tokens: 20 } });
    const first = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    expect(typesOf((await readSse(first)).chunks).at(-1)).toBe('finish');
    const usage = await (await server.app.request('/api/usage')).json();
    expect(usage.daily.used).toBeGreaterThanOrEqual(70);
    const refused = await server.app.request(`/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Again"}',
    });
    expect(refused.status).toBe(429);
    const body = await refused.json();
    expect(body.error.code).toBe('usage_limit_exceeded');
    expect(body.error.message).toMatch(/daily budget of 60 tokens.*resets at \d{4}-\d\d-\d\dT00:00:00Z/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const stored = await (await server.app.request(`/api/chat/sessions/${sessionId}`)).json();
    expect(stored.messages).toHaveLength(2); // the refused message was not stored
  });

  it('limits stream requests per user per minute with 429 rate_limited', async () => {
    // Local mode: one user, whose limit of 4 was partly used above (and whose budget is spent, so some
    // refusals may be usage_limit_exceeded first). Twelve requests hold five in one minute whatever
    // minute boundary they cross.
    let limited: Response | undefined;
    for (let index = 0; index < 12 && !limited; index++) {
      const response = await server.app.request('/api/chat/sessions/00000000-0000-4000-8000-000000000001/stream', {
        method: 'POST',
        headers: json,
        body: '{"message":"x"}',
      });
      expect([404, 429]).toContain(response.status);
      if (response.status === 429 && (await response.clone().json()).error.code === 'rate_limited') limited = response;
    }
    expect(limited, 'no request was refused as rate_limited').toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await limited!.json()).error.message).toMatch(/^Too many requests\. Please wait \d+ s before sending another message\.$/);
  });
});

describe('stopped and failed runs count against the budget', () => {
  it('records estimated usage for a stopped run', async () => {
    const upstream = await startFakeUpstream();
    const chat = await createChatService(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
    try {
      const session = await chat.createChatSession('u');
      upstream.enqueue(say('many words here '.repeat(50), 10));
      let seen = 0;
      for await (const event of chat.streamChatCompletion(session.sessionId, 'Hello', { userId: 'u' }))
        if (event.type === 'text-delta' && ++seen === 10) break;
      const budget = await chat.usage('u');
      expect(budget.daily.used).toBeGreaterThan(0);
      expect((await chat.getChatSession(session.sessionId))!.usage.some((entry) => entry.estimated)).toBe(true);
    } finally {
      await chat.close();
      await upstream.close();
    }
  });
});

const canScaleOut = Boolean(TEST_DATABASE_URL && TEST_REDIS_URL);
describe.runIf(canScaleOut)('budgets and rate limits shared by two instances (PostgreSQL + Redis)', () => {
  let upstream: FakeUpstream;
  let a: ServerProcess;
  let b: ServerProcess;
  let database: Awaited<ReturnType<(typeof databaseTargets)[number]['create']>>;
  const secret = 'shared-secret';
  const auth = (sub: string) => ({ ...json, authorization: `Bearer ${signJwt({ sub }, secret)}` });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
    const env = {
      DATABASE_URL: database.databaseUrl!,
      REDIS_URL: TEST_REDIS_URL!,
      OPEN_ROUTER_API_KEY: 'k',
      LLM_BASE_URL: upstream.url,
      LLM_MAX_RETRIES: '0',
      AUTH_JWT_SECRET: secret,
      RATE_LIMIT_PER_MINUTE: '3',
      DAILY_TOKEN_LIMIT: '100',
    };
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await upstream?.close();
    await database?.drop();
  });

  it('counts one user’s requests across instances', async () => {
    const user = `rate-${randomBytes(4).toString('hex')}`;
    const sessionId = (await (await fetch(`${a.url}/api/chat/sessions`, { method: 'POST', headers: auth(user) })).json()).sessionId;
    const statuses: number[] = [];
    for (const url of [a.url, b.url, a.url, b.url]) {
      const response = await fetch(`${url}/api/chat/sessions/${sessionId}/stream`, {
        method: 'POST',
        headers: auth(user),
        body: '{"message":"hi"}',
      });
      statuses.push(response.status);
      if (response.status === 200) await readSse(response);
      else expect((await response.json()).error.code).toBe('rate_limited');
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Another user is not affected.
    const other = `rate-${randomBytes(4).toString('hex')}`;
    const otherSession = (await (await fetch(`${b.url}/api/chat/sessions`, { method: 'POST', headers: auth(other) })).json()).sessionId;
    const response = await fetch(`${b.url}/api/chat/sessions/${otherSession}/stream`, {
      method: 'POST',
      headers: auth(other),
      body: '{"message":"hi"}',
    });
    expect(response.status).toBe(200);
    await readSse(response);
  });

  it('spends one daily budget across instances', async () => {
    const user = `budget-${randomBytes(4).toString('hex')}`;
    const sessionId = (await (await fetch(`${a.url}/api/chat/sessions`, { method: 'POST', headers: auth(user) })).json()).sessionId;
    upstream.enqueue({ steps: [{ text: 'expensive' }], usage: { prompt_tokens: 90, completion_tokens: 30 } });
    await readSse(
      await fetch(`${a.url}/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: auth(user), body: '{"message":"hi"}' }),
    );
    const usage = await (await fetch(`${b.url}/api/usage`, { headers: auth(user) })).json();
    expect(usage.daily.used).toBeGreaterThanOrEqual(120);
    const refused = await fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: auth(user),
      body: '{"message":"again"}',
    });
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.code).toBe('usage_limit_exceeded');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe.each(databaseTargets)('export and erasure on $name', (target) => {
  it('exports all of a user’s data and erases it, leaving other users alone', async () => {
    const database = await target.create();
    const secret = 'gdpr-secret';
    const server = await startTestServer({
      databaseUrl: database.databaseUrl,
      dataDir: database.dataDir,
      authJwtSecret: secret,
      redisUrl: TEST_REDIS_URL,
      limits: { requestsPerMinute: 50 },
    });
    const as = (sub: string) => ({ ...json, authorization: `Bearer ${signJwt({ sub }, secret)}` });
    // Names of this run only: the shared Redis holds the rate-limit counters of every run.
    const [erin, other] = ['erin', 'other'].map((name) => `${name}-${randomBytes(4).toString('hex')}`) as [string, string];
    try {
      for (const user of [erin, other]) {
        const sessionId = (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers: as(user) })).json()).sessionId;
        await readSse(
          await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
            method: 'POST',
            headers: as(user),
            body: JSON.stringify({ message: "find an agent for 'seo blog'" }),
          }),
        );
        await fetch(`${server.url}/api/library`, { method: 'POST', headers: as(user), body: '{"slug":"money-printing-agent"}' });
      }
      const exported = await (await fetch(`${server.url}/api/me/export`, { headers: as(erin) })).json();
      expect(exported.userId).toBe(erin);
      expect(exported.sessions).toHaveLength(1);
      expect(exported.sessions[0].messages).toHaveLength(2);
      expect(exported.usage.length).toBeGreaterThan(0);
      expect(exported.library.map((entry: { slug: string }) => entry.slug)).toEqual(['money-printing-agent']);

      const spent = (await (await fetch(`${server.url}/api/usage`, { headers: as(erin) })).json()).daily.used;
      expect(spent).toBeGreaterThan(0);
      expect((await rateKeys(erin)).length > 0, 'rate-limit counters in Redis before the erasure').toBe(Boolean(TEST_REDIS_URL));
      expect((await fetch(`${server.url}/api/me`, { method: 'DELETE', headers: as(erin) })).status).toBe(204);
      const after = await (await fetch(`${server.url}/api/me/export`, { headers: as(erin) })).json();
      expect(after.sessions).toEqual([]);
      expect(after.usage).toEqual([]);
      expect(after.library).toEqual([]);
      // Erasure removes content and identity, not what was spent: the budget window still counts it.
      expect((await (await fetch(`${server.url}/api/usage`, { headers: as(erin) })).json()).daily.used).toBe(spent);
      const untouched = await (await fetch(`${server.url}/api/me/export`, { headers: as(other) })).json();
      expect(untouched.sessions).toHaveLength(1);
      expect(untouched.library).toHaveLength(1);
      // Its rate-limit counters (in Redis when there is one) are gone too.
      expect(await rateKeys(erin)).toEqual([]);
    } finally {
      await server.close();
      await database.drop();
    }
  });
});

/** A user's rate-limit counters in Redis; none without Redis (the limiter then counts in memory). */
async function rateKeys(userId: string): Promise<string[]> {
  if (!TEST_REDIS_URL) return [];
  const redis = new Redis(TEST_REDIS_URL);
  try {
    return await redis.keys(`autochat:rate:${userId}:*`);
  } finally {
    await redis.quit();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('encryption at rest', () => {
  const key = randomBytes(32).toString('base64');
  const marker = `zebra${randomBytes(6).toString('hex')}`;

  it('stores no plaintext of messages, tool payloads or titles in the embedded database files', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-enc-'));
    const upstream = await startFakeUpstream();
    const logLines: string[] = [];
    const logger = createLogger('debug', new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));
    try {
      const chat = await createChatService(upstreamOptions(upstream.url, { dataDir, encryptionKey: key, logger }));
      const session = await chat.createChatSession('u');
      upstream.setDefault((request) => (request.body.stream ? say(`The answer mentions ${marker} too.`) : say(`Title ${marker}`)));
      for await (const _ of chat.streamChatCompletion(session.sessionId, `My secret is ${marker}`, { userId: 'u' })) void _;
      await expect.poll(async () => (await chat.getChatSession(session.sessionId))!.title, { timeout: 5000 }).toContain(marker);
      const clear = await chat.getChatSession(session.sessionId, 'u');
      expect(JSON.stringify(clear!.messages)).toContain(`My secret is ${marker}`);
      await chat.close();

      let scanned = 0;
      for (const file of await filesUnder(dataDir)) {
        if ((await stat(file)).size === 0) continue;
        scanned++;
        expect((await readFile(file)).includes(Buffer.from(marker)), `plaintext found in ${file}`).toBe(false);
      }
      expect(scanned).toBeGreaterThan(10);
      expect(logLines.length).toBeGreaterThan(0);
      expect(logLines.join('')).not.toContain(marker);

      // Rotation: a new key, with the old one still accepted for reading.
      const rotated = await createChatService(
        testOptions({ dataDir, encryptionKey: randomBytes(32).toString('base64'), previousEncryptionKeys: [key] }),
      );
      expect(JSON.stringify((await rotated.getChatSession(session.sessionId))!.messages)).toContain(marker);
      await rotated.close();
    } finally {
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.runIf(Boolean(TEST_REDIS_URL))('seals the live event log in Redis too', async () => {
    const upstream = await startFakeUpstream();
    const chat = await createChatService(
      upstreamOptions(upstream.url, { dataDir: 'memory://', encryptionKey: key, redisUrl: TEST_REDIS_URL }),
    );
    const redis = new Redis(TEST_REDIS_URL!);
    try {
      const session = await chat.createChatSession('u');
      upstream.enqueue(say(`streamed ${marker} words`));
      const run = await chat.startRun(session.sessionId, `tell me about ${marker}`, { userId: 'u' });
      const replayed: string[] = [];
      for await (const event of chat.readRun(run.runId)) if (event.type === 'text-delta') replayed.push(event.delta);
      expect(replayed.join('')).toContain(marker);
      const entries = await redis.xrange(`autochat:run:${run.runId}`, '-', '+');
      expect(entries.length).toBeGreaterThan(3);
      expect(JSON.stringify(entries)).not.toContain(marker);
      expect(JSON.stringify(entries)).toContain('enc1:');
    } finally {
      await redis.quit();
      await chat.close();
      await upstream.close();
    }
  });

  it.runIf(Boolean(TEST_DATABASE_URL))('stores ciphertext rows in PostgreSQL', async () => {
    const database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
    const chat = await createChatService(testOptions({ databaseUrl: database.databaseUrl, encryptionKey: key }));
    try {
      const session = await chat.createChatSession('u');
      for await (const _ of chat.streamChatCompletion(session.sessionId, `find an agent for ${marker}`, { userId: 'u' })) void _;
      const client = new pg.Client({ connectionString: database.databaseUrl });
      await client.connect();
      const rows = await client.query('select parts from chat_messages');
      const dump = await client.query("select string_agg(t::text, ' ') as all from (select * from chat_messages) t");
      await client.end();
      expect(rows.rows.length).toBe(2);
      for (const row of rows.rows) expect(row.parts).toMatch(/^enc1:[0-9a-f]{8}:/);
      expect(dump.rows[0].all).not.toContain(marker);
      expect(dump.rows[0].all).not.toContain('find_agent');
    } finally {
      await chat.close();
      await database.drop();
    }
  });
});
