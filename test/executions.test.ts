/**
 * Agents run from the API and the chat: an execution calls the model with the agent's instructions
 * and the person's inputs, streams into its own event log, and ends with its output and usage stored
 * (sealed at rest), counted in the owner's budget — on PGlite and on PostgreSQL when
 * TEST_DATABASE_URL is set. With the offline demo model (deterministic output sections) and with a
 * scripted upstream (the prompt and tools it is sent, tool calls, the time limit, the live limit, stop,
 * and the chat tools that start and read executions). Someone else's execution is 404 everywhere.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UIMessageChunk } from 'ai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../src/http/middleware/jwt.js';
import type { RunningServer } from '../src/http/server.js';
import type { Agent } from '../src/store/agents-repository.js';
import { outputSections } from '../src/store/agent-definition.js';
import { databaseTargets } from './support/databases.js';
import { callTool, say, startFakeUpstream, type FakeUpstream, type RecordedRequest, type Script } from './support/fake-upstream.js';
import { startTestServer, testOptions, upstreamOptions } from './support/test-service.js';
import { readSse, rebuildMessage } from './support/ui-stream.js';
import { waitUntil } from './support/wait-until.js';

const SECRET = 'executions-test-secret-long-enough';
const KEY = Buffer.alloc(32, 7).toString('base64');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const catalog = JSON.parse(await readFile(join(ROOT, 'catalog/agents.json'), 'utf8')) as Agent[];
const money = catalog.find((agent) => agent.slug === 'money-printing-agent')!;

const tokenOf = (userId: string) => signJwt({ sub: userId, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);

type Execution = {
  executionId: string;
  status: string;
  output?: { parts: { type: string; text?: string }[] };
  error?: string;
  usage?: { totalTokens: number };
  inputs: Record<string, unknown>;
};

const textOf = (execution: Execution) => (execution.output?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

function api(server: RunningServer, userId: string) {
  const request = (path: string, init: RequestInit = {}) =>
    server.app.request(path, {
      ...init,
      headers: {
        authorization: `Bearer ${tokenOf(userId)}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
    });
  return {
    request,
    start: (slug: string, inputs: unknown) => request('/api/executions', { method: 'POST', body: JSON.stringify({ slug, inputs }) }),
    get: async (id: string) => request(`/api/executions/${id}`),
    async finished(id: string, statuses = ['finished', 'failed', 'stopped', 'interrupted']): Promise<Execution> {
      let execution: Execution | undefined;
      await waitUntil(async () => {
        const response = await request(`/api/executions/${id}`);
        execution = (await response.json()) as Execution;
        return statuses.includes(execution.status);
      }, 15_000);
      return execution!;
    },
  };
}

/** Rows as the PostgreSQL server holds them (to see what is sealed at rest). */
async function rows<T>(databaseUrl: string, query: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(query)).rows as T[];
  } finally {
    await client.end();
  }
}

describe.each(databaseTargets)('agent executions with the demo model on $name', (target) => {
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer(
      testOptions({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, authJwtSecret: SECRET, encryptionKey: KEY }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('in chat, the demo model finds an agent, asks its setup, runs it once approved, and reads its output back', async () => {
    const userId = 'olga';
    const chat = server.chat;
    const session = await chat.createChatSession(userId);
    const collect = async (chunks: AsyncIterable<UIMessageChunk>) => {
      const all: UIMessageChunk[] = [];
      for await (const chunk of chunks) all.push(chunk);
      return all;
    };
    const toolsCalled = (chunks: UIMessageChunk[]) =>
      chunks.flatMap((chunk) => (chunk.type === 'tool-input-available' ? [chunk.toolName] : []));
    const outputs = (chunks: UIMessageChunk[]) =>
      chunks.flatMap((chunk) => (chunk.type === 'tool-output-available' ? [chunk.output as Record<string, unknown>] : []));

    const asked = await collect(
      chat.streamChatCompletion(session.sessionId, 'Find me an agent that writes LinkedIn posts and run it about our launch', { userId }),
    );
    expect(toolsCalled(asked)).toEqual(['find_agent', 'get_required_setup_info', 'run_agent']);
    const [found, setup] = outputs(asked);
    expect((found!.agents as { slug: string }[])[0]!.slug).toBe('linkedin-post-generator');
    expect(setup).toMatchObject({ slug: 'linkedin-post-generator', missing: ['topic'] });
    // run_agent spends tokens: the answer waits for approval, and nothing has started yet.
    const request = asked.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string } | undefined;
    expect(request).toBeDefined();
    expect((await chat.executions.list(userId)).executions).toEqual([]);

    const answered = await chat.answerApproval(session.sessionId, userId, request!.approvalId, { approved: true });
    const ran = await collect(chat.readRun(answered.resumed!));
    const started = outputs(ran)[0] as { executionId: string; status: string };
    expect(started.executionId).toMatch(/^[0-9a-f-]{36}$/);
    const said = ran.flatMap((chunk) => (chunk.type === 'text-delta' ? [chunk.delta] : [])).join('');
    expect(said).toContain(started.executionId);
    await chat.executions.waitFor(started.executionId);
    const execution = await chat.executions.get(started.executionId, userId);
    expect(execution).toMatchObject({
      slug: 'linkedin-post-generator',
      status: 'finished',
      inputs: expect.objectContaining({ topic: 'our launch' }),
    });

    const read = await collect(chat.streamChatCompletion(session.sessionId, 'Show me its output', { userId }));
    expect(toolsCalled(read)).toEqual(['view_agent_output']);
    expect(outputs(read)[0]).toMatchObject({ executionId: started.executionId, status: 'finished' });
    const shown = read.flatMap((chunk) => (chunk.type === 'text-delta' ? [chunk.delta] : [])).join('');
    expect(shown).toContain('our launch');
  });

  it('runs an agent: 202 at once, then its output sections filled from the inputs, streamed and stored, its usage counted', async () => {
    const alice = api(server, 'alice');
    const response = await alice.start('money-printing-agent', { skills: 'graphic design', startupBudget: '500' });
    expect(response.status).toBe(202);
    const started = (await response.json()) as { executionId: string; status: string };
    expect(started).toEqual({ executionId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued' });

    const stream = await alice.request(`/api/executions/${started.executionId}/stream`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const parsed = await readSse(stream);
    expect(parsed.invalid).toEqual([]);
    expect(parsed.endedWithDone).toBe(true);
    expect(parsed.chunks[0]).toMatchObject({ type: 'start' });
    expect(parsed.chunks.at(-1)).toMatchObject({ type: 'finish' });
    const streamed = await rebuildMessage(parsed.chunks);
    const streamedText = streamed!.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
    for (const section of outputSections(money.instructions!)) expect(streamedText).toContain(section.heading);
    expect(streamedText).toContain('graphic design');
    expect(streamedText).toContain('Hours per week: 10'); // the default filled in

    const execution = await alice.finished(started.executionId);
    expect(execution.status).toBe('finished');
    expect(textOf(execution)).toBe(streamedText);
    expect(execution.inputs).toEqual({ skills: 'graphic design', startupBudget: 500, hoursPerWeek: 10 });
    expect(execution.usage!.totalTokens).toBeGreaterThan(0);

    const usage = (await (await alice.request('/api/usage')).json()) as { daily: { used: number } };
    expect(usage.daily.used).toBe(execution.usage!.totalTokens);

    const list = (await (await alice.request('/api/executions')).json()) as { executions: Execution[]; nextCursor: string | null };
    expect(list.executions.map((entry) => entry.executionId)).toContain(started.executionId);
    expect(list.executions[0]!.output).toBeUndefined();

    if (database.databaseUrl) {
      const [row] = await rows<{ inputs: string; output: string }>(
        database.databaseUrl,
        `select inputs, output from agent_executions where id = '${started.executionId}'`,
      );
      expect(row!.inputs.startsWith('enc1:')).toBe(true);
      expect(row!.output.startsWith('enc1:')).toBe(true);
      expect(row!.inputs).not.toContain('graphic design');
      const usageRows = await rows<{ kind: string; session_id: string | null }>(
        database.databaseUrl,
        `select kind, session_id from usage_events where run_id = '${started.executionId}'`,
      );
      expect(usageRows).toEqual([{ kind: 'execution', session_id: null }]);
    }
  });

  it('refuses incomplete or invalid inputs with a 400 that names them, and an unknown agent with a 404; nothing is stored', async () => {
    const bob = api(server, 'bob');
    const missing = await bob.start('money-printing-agent', { skills: 'writing' });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('Startup budget is required');
    expect(body.error.message).toContain('Missing: startupBudget');

    const wrong = await bob.start('money-printing-agent', { skills: 'writing', startupBudget: 'lots', color: 'red' });
    expect(wrong.status).toBe(400);
    const wrongBody = (await wrong.json()) as { error: { message: string } };
    expect(wrongBody.error.message).toContain('Startup budget must be a number');
    expect(wrongBody.error.message).toContain('"color" is not an input');

    const unknown = await bob.start('no-such-agent', {});
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('"no-such-agent"');

    const notObject = await bob.request('/api/executions', {
      method: 'POST',
      body: JSON.stringify({ slug: 'money-printing-agent', inputs: 'x' }),
    });
    expect(notObject.status).toBe(400);

    const list = (await (await bob.request('/api/executions')).json()) as { executions: Execution[] };
    expect(list.executions).toEqual([]);
  });

  it("another user's execution is 404 everywhere, and absent from their list", async () => {
    const alice = api(server, 'alice');
    const carol = api(server, 'carol');
    const { executionId } = (await (await alice.start('money-printing-agent', { skills: 'sales', startupBudget: 100 })).json()) as {
      executionId: string;
    };
    for (const [method, path] of [
      ['GET', `/api/executions/${executionId}`],
      ['GET', `/api/executions/${executionId}/stream`],
      ['POST', `/api/executions/${executionId}/stop`],
    ] as const) {
      const response = await carol.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    expect(((await (await carol.request('/api/executions')).json()) as { executions: Execution[] }).executions).toEqual([]);
    await alice.finished(executionId);
  });

  it('lists executions newest first, page by page, and refuses a cursor it did not make', async () => {
    const kim = api(server, 'kim');
    const ids: string[] = [];
    for (const skills of ['one', 'two', 'three']) {
      const { executionId } = (await (await kim.start('money-printing-agent', { skills, startupBudget: 1 })).json()) as {
        executionId: string;
      };
      await kim.finished(executionId);
      ids.push(executionId);
    }
    const first = (await (await kim.request('/api/executions?limit=2')).json()) as { executions: Execution[]; nextCursor: string | null };
    expect(first.executions.map((entry) => entry.executionId)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await (await kim.request(`/api/executions?limit=2&cursor=${first.nextCursor}`)).json()) as {
      executions: Execution[];
      nextCursor: string | null;
    };
    expect(second.executions.map((entry) => entry.executionId)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    const forged = Buffer.from(JSON.stringify({ createdAt: "2026-01-01'; drop table agents; --", id: ids[0] })).toString('base64url');
    expect((await kim.request(`/api/executions?cursor=${forged}`)).status).toBe(400);
  });

  it('tells what an agent needs to run', async () => {
    const response = await api(server, 'alice').request('/api/store/agents/money-printing-agent/setup');
    expect(response.status).toBe(200);
    const setup = (await response.json()) as { slug: string; inputs: { required: string[] }; missing: string[] };
    expect(setup).toMatchObject({ slug: 'money-printing-agent', missing: ['skills', 'startupBudget'] });
    expect(setup.inputs).toEqual(money.inputs);
  });

  it('exports the executions of a user, and erasing the user removes them', async () => {
    const dave = api(server, 'dave');
    const { executionId } = (await (await dave.start('money-printing-agent', { skills: 'baking', startupBudget: 50 })).json()) as {
      executionId: string;
    };
    await dave.finished(executionId);
    const exported = (await (await dave.request('/api/me/export')).json()) as { executions: Execution[]; usage: { kind: string }[] };
    expect(exported.executions.map((entry) => entry.executionId)).toEqual([executionId]);
    expect(exported.executions[0]!.inputs).toMatchObject({ skills: 'baking' });
    expect(textOf(exported.executions[0]!)).toContain('baking');
    expect(exported.usage.map((entry) => entry.kind)).toContain('execution');

    expect((await dave.request('/api/me', { method: 'DELETE' })).status).toBe(204);
    expect((await dave.get(executionId)).status).toBe(404);
    if (database.databaseUrl) {
      expect(await rows(database.databaseUrl, `select id from agent_executions where user_id = 'dave'`)).toEqual([]);
    }
  });
});

/** Routes upstream requests: an execution's (system prompt = an agent's instructions) or the chat's. */
function router(scripts: { execution: Script[]; chat: Script[] }) {
  return (request: RecordedRequest): Script => {
    const system = request.body.messages[0];
    const isChat = typeof system?.content === 'string' && system.content.startsWith('You are the copilot');
    if (request.body.stream !== true) return say('A title');
    return (isChat ? scripts.chat.shift() : scripts.execution.shift()) ?? say('Nothing more to say.');
  };
}

describe.each(databaseTargets)('agent executions with a scripted upstream on $name', (target) => {
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;
  let upstream: FakeUpstream;
  const scripts = { execution: [] as Script[], chat: [] as Script[] };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setDefault(router(scripts));
    database = await target.create();
    server = await startTestServer(
      upstreamOptions(upstream.url, {
        databaseUrl: database.databaseUrl,
        dataDir: database.dataDir,
        authJwtSecret: SECRET,
        // A time limit no test meets on a busy machine; the one that tests it starts its own server.
        executions: { maxLive: 2, timeoutMs: 600_000 },
      }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    await upstream?.close();
  });

  it("sends the agent's instructions, the inputs and only its tools; runs its tool calls; stores each call's usage", async () => {
    const alice = api(server, 'alice');
    scripts.execution.push(callTool('find_agent', { query: 'etsy listings' }), say('Your ranked income streams are ready.'));
    const before = upstream.requests.length;
    const { executionId } = (await (await alice.start('money-printing-agent', { skills: 'illustration', startupBudget: 200 })).json()) as {
      executionId: string;
    };
    const execution = await alice.finished(executionId);
    expect(execution.status).toBe('finished');
    const sent = upstream.requests.slice(before).filter((request) => request.body.stream === true);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.body.messages[0]).toEqual({ role: 'system', content: money.instructions });
    const user = JSON.stringify(sent[0]!.body.messages[1]!.content);
    expect(user).toContain('Skills (skills): illustration');
    expect(user).toContain('Startup budget (startupBudget): 200');
    const toolNames = (sent[0]!.body.tools as { function: { name: string } }[]).map((tool) => tool.function.name).sort();
    expect(toolNames).toEqual(['find_agent', 'get_agent_details']);
    const toolPart = execution.output!.parts.find((part) => part.type === 'tool-find_agent') as
      | { state: string; output: { agents: unknown[] } }
      | undefined;
    expect(toolPart?.state).toBe('output-available');
    expect(toolPart!.output.agents.length).toBeGreaterThan(0);
    expect(textOf(execution)).toBe('Your ranked income streams are ready.');
    // Two upstream calls: 30 + 12 and 20 + 6 tokens, as the script reported them.
    expect(execution.usage).toMatchObject({ promptTokens: 50, completionTokens: 18, totalTokens: 68 });
  });

  it('allows at most MAX_RUNNING_EXECUTIONS live executions per user (429 with Retry-After); stop frees a place and keeps what was written', async () => {
    const erin = api(server, 'erin');
    const held = (): Script => ({
      steps: [{ text: 'Working on it ' }, { gate: 'hold' }, { text: 'done.' }],
      finishReason: 'stop',
      usage: { prompt_tokens: 10, completion_tokens: 3 },
    });
    scripts.execution.push(held(), held());
    const first = (await (await erin.start('money-printing-agent', { skills: 'a', startupBudget: 1 })).json()) as { executionId: string };
    const second = (await (await erin.start('money-printing-agent', { skills: 'b', startupBudget: 1 })).json()) as { executionId: string };
    await upstream.reached('hold');
    const third = await erin.start('money-printing-agent', { skills: 'c', startupBudget: 1 });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    const refusal = (await third.json()) as { error: { code: string; message: string } };
    expect(refusal.error.code).toBe('rate_limited');
    expect(refusal.error.message).toContain('2 agent executions running');
    // Another user is not held back by erin's executions.
    scripts.execution.push(say('Fine.'));
    const other = await api(server, 'frank').start('money-printing-agent', { skills: 'd', startupBudget: 1 });
    expect(other.status).toBe(202);

    const stop = await erin.request(`/api/executions/${first.executionId}/stop`, { method: 'POST' });
    expect(await stop.json()).toEqual({ stopped: true });
    const stopped = await erin.finished(first.executionId);
    expect(stopped.status).toBe('stopped');
    expect(textOf(stopped)).toBe('Working on it ');
    const replay = await readSse(await erin.request(`/api/executions/${first.executionId}/stream`));
    expect(replay.chunks.at(-1)).toMatchObject({ type: 'abort' });
    const again = await erin.request(`/api/executions/${first.executionId}/stop`, { method: 'POST' });
    expect(await again.json()).toEqual({ stopped: false });

    scripts.execution.push(say('Third one.'));
    expect((await erin.start('money-printing-agent', { skills: 'c', startupBudget: 1 })).status).toBe(202);
    upstream.release('hold');
    expect((await erin.finished(second.executionId)).status).toBe('finished');
  });

  it('ends an execution that runs past its time limit as failed, saying so, with what it wrote', async () => {
    const limited = await startTestServer(
      upstreamOptions(upstream.url, {
        databaseUrl: database.databaseUrl,
        dataDir: 'memory://',
        authJwtSecret: SECRET,
        executions: { maxLive: 2, timeoutMs: 3000 },
      }),
    );
    try {
      const gina = api(limited, 'gina');
      scripts.execution.push({ steps: [{ text: 'Starting ' }, { hang: true }], finishReason: 'stop' });
      const { executionId } = (await (await gina.start('money-printing-agent', { skills: 'x', startupBudget: 1 })).json()) as {
        executionId: string;
      };
      const execution = await gina.finished(executionId);
      expect(execution.status).toBe('failed');
      expect(execution.error).toContain('time limit of 3 s');
      expect(textOf(execution)).toBe('Starting ');
      expect(execution.usage!.totalTokens).toBeGreaterThan(0); // the call cut short is charged an estimate
    } finally {
      await limited.close();
    }
  });

  it('in chat: get_required_setup_info, run_agent (returns at once) and view_agent_output', async () => {
    const userId = 'hana';
    const chat = server.chat;
    const session = await chat.createChatSession(userId);
    const collect = async (text: string) => {
      const chunks: UIMessageChunk[] = [];
      for await (const chunk of chat.streamChatCompletion(session.sessionId, text, { userId })) chunks.push(chunk);
      return chunks;
    };
    // run_agent spends tokens, so it waits for approval (TOOL_APPROVAL's default): approve it, and read on.
    const approved = async (chunks: UIMessageChunk[]) => {
      const request = chunks.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string } | undefined;
      expect(request, 'run_agent asks for approval').toBeDefined();
      expect(chunks.some((chunk) => chunk.type === 'tool-output-available')).toBe(false);
      const answered = await chat.answerApproval(session.sessionId, userId, request!.approvalId, { approved: true });
      const continued: UIMessageChunk[] = [];
      for await (const chunk of chat.readRun(answered.resumed!)) continued.push(chunk);
      return continued;
    };
    const outputOf = (chunks: UIMessageChunk[]) =>
      (chunks.find((chunk) => chunk.type === 'tool-output-available') as { output: Record<string, unknown> }).output;

    scripts.chat.push(
      callTool('get_required_setup_info', { slug: 'money-printing-agent', inputs: { skills: 'pottery' } }),
      say('I need your budget.'),
    );
    const setup = outputOf(await collect('Run the money printing agent for me.'));
    expect(setup).toMatchObject({ slug: 'money-printing-agent', missing: ['startupBudget'] });

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    scripts.execution.push({
      steps: [{ waitFor: () => gate }, { text: 'Pottery plan.' }],
      finishReason: 'stop',
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    });
    scripts.chat.push(
      callTool('run_agent', { slug: 'money-printing-agent', inputs: { skills: 'pottery', startupBudget: 300 } }),
      say('It is running.'),
    );
    const runChunks = await approved(await collect('My budget is 300.'));
    // The answer finished while the execution still waits upstream: the chat did not wait for it.
    expect(runChunks.at(-1)).toMatchObject({ type: 'finish' });
    const started = outputOf(runChunks) as { executionId: string; status: string };
    expect(started.status).toBe('queued');
    expect((await chat.executions.get(started.executionId, userId)).status).not.toBe('finished');
    release();
    await chat.executions.waitFor(started.executionId);

    scripts.chat.push(callTool('view_agent_output', { executionId: started.executionId }), say('Here it is.'));
    const view = outputOf(await collect('Is it done?'));
    expect(view).toEqual({ executionId: started.executionId, slug: 'money-printing-agent', status: 'finished', output: 'Pottery plan.' });

    scripts.chat.push(callTool('run_agent', { slug: 'no-such-agent', inputs: {} }), say('That agent does not exist.'));
    const unknown = outputOf(await approved(await collect('Run no-such-agent.')));
    expect(unknown).toMatchObject({ slug: 'no-such-agent', error: expect.stringContaining('"no-such-agent"') });

    scripts.chat.push(callTool('view_agent_output', { executionId: started.executionId }), say('Not yours.'));
    const others = await chat.createChatSession('ivan');
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of chat.streamChatCompletion(others.sessionId, 'Show it.', { userId: 'ivan' })) chunks.push(chunk);
    expect(outputOf(chunks)).toMatchObject({ error: 'Execution not found.' });
  });
});

describe.each(databaseTargets)('agent executions under a small token budget on $name', (target) => {
  const LIMIT = 1000;
  /** What one upstream call costs here: 340 tokens, held at a gate until the test has sent everything. */
  let gate = 'budget';
  const held = (): Script => ({
    steps: [{ text: 'Working ' }, { gate }, { text: 'done.' }],
    finishReason: 'stop',
    usage: { prompt_tokens: 300, completion_tokens: 40 },
  });
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;
  let upstream: FakeUpstream;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setDefault((request) => (request.body.stream === true ? held() : say('A title')));
    database = await target.create();
    server = await startTestServer(
      upstreamOptions(upstream.url, {
        databaseUrl: database.databaseUrl,
        dataDir: database.dataDir,
        authJwtSecret: SECRET,
        limits: { dailyTokens: LIMIT },
        executions: { maxLive: 10 },
      }),
    );
  });
  afterAll(async () => {
    upstream?.release('budget');
    upstream?.release('budget-next');
    await server?.close();
    await database?.drop();
    await upstream?.close();
  });

  it('reserves what an execution may spend: of executions and a chat turn sent at once, those beyond the budget get 429 with a sentence', async () => {
    const lena = api(server, 'lena');
    const session = await server.chat.createChatSession('lena');
    // Each reservation (1,000 completion tokens and the prompt's estimate) fills the 1,000-token budget:
    // whichever comes first is admitted, and holds the rest off until it ends.
    const responses = await Promise.all([
      ...Array.from({ length: 6 }, (_, index) =>
        lena.start('money-printing-agent', { skills: `skill ${index}`, startupBudget: index + 1 }),
      ),
      lena.request(`/api/chat/sessions/${session.sessionId}/stream`, { method: 'POST', body: '{"message":"Hello"}' }),
    ]);
    expect(responses.map((response) => response.status).filter((status) => status !== 429)).toHaveLength(1);
    const admitted = responses.filter((response) => response.status !== 429);
    const refused = responses.filter((response) => response.status === 429);
    for (const response of refused) {
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('usage_limit_exceeded');
      expect(body.error.message).toMatch(/may use the rest of your daily budget of 1,000 tokens\. Try again when they have finished\./);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await server.chat.executions.list('lena').then((page) => page.executions.length)).toBe(admitted[0]!.status === 202 ? 1 : 0);

    await upstream.reached('budget');
    gate = 'budget-next';
    upstream.release('budget');
    if (admitted[0]!.status === 202) {
      const { executionId } = (await admitted[0]!.json()) as { executionId: string };
      expect((await lena.finished(executionId)).status).toBe('finished');
    } else {
      expect(admitted[0]!.status).toBe(200);
      await readSse(admitted[0]!);
      await waitUntil(async () => (await server.chat.getChatSession(session.sessionId))?.status === 'idle', 15_000);
    }

    // Nothing overspent: one call's worth (and a title) against the limit.
    const used = ((await (await lena.request('/api/usage')).json()) as { daily: { used: number } }).daily.used;
    expect(used).toBeGreaterThanOrEqual(340);
    expect(used).toBeLessThanOrEqual(340 + 22);

    // The reservation ended with it: with budget left, the next execution is admitted, and holds its
    // own reservation while it runs (a chat turn meanwhile is refused).
    const next = await lena.start('money-printing-agent', { skills: 'next', startupBudget: 1 });
    expect(next.status).toBe(202);
    const { executionId } = (await next.json()) as { executionId: string };
    const other = await server.chat.createChatSession('lena');
    const turn = await lena.request(`/api/chat/sessions/${other.sessionId}/stream`, { method: 'POST', body: '{"message":"Hi"}' });
    expect(turn.status).toBe(429);
    upstream.release('budget-next');
    expect((await lena.finished(executionId)).status).toBe('finished');
  });
});
