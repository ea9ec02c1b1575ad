/**
 * Tool approvals across instances, with PostgreSQL and Redis and an MCP tool (which needs approval by
 * default): the request is made on instance A and answered on instance B — after A is gone, since a
 * waiting run holds no process — which runs the tool and continues the answer; a denial is shown to
 * the model; an unanswered request expires and the run ends; an instance killed while it goes on
 * with an approved answer has it continued by another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, TEST_REDIS_URL, databaseTargets } from './support/databases.js';
import { serveEchoOverHttp } from './support/echo-mcp-server.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { instanceEnv, newSession, spawnServer, type ServerProcess } from './support/server-processes.js';
import { readSse, textOf } from './support/ui-stream.js';
import { waitUntil } from './support/wait-until.js';

const json = { 'content-type': 'application/json' };
const canScaleOut = Boolean(TEST_DATABASE_URL && TEST_REDIS_URL);

describe.runIf(canScaleOut)('tool approvals on two instances sharing PostgreSQL and Redis', () => {
  let upstream: FakeUpstream;
  let echo: Awaited<ReturnType<typeof serveEchoOverHttp>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess | undefined;
  let database: Awaited<ReturnType<(typeof databaseTargets)[number]['create']>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    [upstream, echo] = await Promise.all([startFakeUpstream(), serveEchoOverHttp()]);
    upstream.setDefault(say('Title'));
    database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
    env = instanceEnv(upstream.url, {
      DATABASE_URL: database.databaseUrl!,
      REDIS_URL: TEST_REDIS_URL!,
      RUN_LEASE_MS: '1000',
      MCP_SERVERS: JSON.stringify({ echo: { url: echo.url } }),
      TOOL_APPROVAL_TIMEOUT_MS: '4000',
    });
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    await Promise.all([upstream?.close(), echo?.close()]);
    await database?.drop();
  });

  const getSession = async (url: string, sessionId: string) => (await fetch(`${url}/api/chat/sessions/${sessionId}`)).json();
  const streamedRequests = () => upstream.requests.filter((request) => request.body.stream === true);

  /** Sends a message on `url` whose answer calls echo_upper; returns the approval id asked for. */
  async function askOn(url: string, sessionId: string, text: string): Promise<string> {
    upstream.enqueue(callTool('echo__echo_upper', { text }, `call_${text}`));
    const response = await fetch(`${url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ message: `Shout ${text}` }),
    });
    const stream = await readSse(response);
    expect(stream.invalid).toEqual([]);
    expect(stream.chunks.map((chunk) => chunk.type)).not.toContain('tool-output-available');
    const request = stream.chunks.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string } | undefined;
    expect(request).toBeDefined();
    return request!.approvalId;
  }

  it('denies on B what A asked: the model is told, the answer goes on, the tool never ran', async () => {
    const sessionId = await newSession(a.url);
    const approvalId = await askOn(a.url, sessionId, 'nope');
    upstream.enqueue(say('All right, I will not.'));
    const response = await fetch(`${b.url}/api/chat/sessions/${sessionId}/approvals/${approvalId}`, {
      method: 'POST',
      headers: { ...json, accept: 'text/event-stream' },
      body: JSON.stringify({ approved: false, reason: 'no shouting' }),
    });
    const rest = await readSse(response);
    expect(rest.chunks).toContainEqual({ type: 'tool-output-denied', toolCallId: 'call_nope' });
    expect(textOf(rest.chunks)).toBe('All right, I will not.');
    expect(JSON.stringify(streamedRequests().at(-1)!.body.messages.at(-1))).toContain('no shouting');
    const stored = await getSession(a.url, sessionId);
    expect(stored.status).toBe('idle');
    expect(stored.messages[1].parts).toContainEqual(expect.objectContaining({ type: 'tool-echo__echo_upper', state: 'output-denied' }));
  });

  it('expires unanswered: the run ends, its call denied, the chat free again', async () => {
    const sessionId = await newSession(a.url);
    const approvalId = await askOn(a.url, sessionId, 'forgotten');
    await waitUntil(async () => (await getSession(b.url, sessionId)).status === 'idle', 20_000, 200);
    const stored = await getSession(b.url, sessionId);
    expect(stored.lastRunStatus).toBe('stopped');
    expect(stored.pendingApprovals).toBeUndefined();
    expect(stored.messages[1].parts).toContainEqual(
      expect.objectContaining({ state: 'output-denied', approval: expect.objectContaining({ approved: false }) }),
    );
    const late = await fetch(`${b.url}/api/chat/sessions/${sessionId}/approvals/${approvalId}`, {
      method: 'POST',
      headers: json,
      body: '{"approved":true}',
    });
    expect(await late.json()).toMatchObject({ approved: false, resumed: false });
  });

  it('asks on A, approves on B after A is gone: B runs the tool and the same answer goes on, each call charged once', async () => {
    const sessionId = await newSession(a.url);
    const before = streamedRequests().length;
    const approvalId = await askOn(a.url, sessionId, 'hi');
    const answerId = (await getSession(b.url, sessionId)).messages[1].id as string;
    await a.kill();

    const waiting = await getSession(b.url, sessionId);
    expect(waiting.pendingApprovals).toEqual([
      expect.objectContaining({ approvalId, toolName: 'echo__echo_upper', input: { text: 'hi' } }),
    ]);
    // A's lease no longer matters: B's sweeper does not close a waiting run as interrupted.
    expect((await getSession(b.url, sessionId)).status).toBe('running');

    upstream.enqueue({
      steps: [{ gate: 'after-approval' }, { text: 'Shouted: HI' }],
      finishReason: 'stop',
      usage: { prompt_tokens: 50, completion_tokens: 3 },
    });
    const answered = await fetch(`${b.url}/api/chat/sessions/${sessionId}/approvals/${approvalId}`, {
      method: 'POST',
      headers: json,
      body: '{"approved":true}',
    });
    expect(await answered.json()).toMatchObject({ approved: true, resumed: true });
    const following = fetch(`${b.url}/api/chat/sessions/${sessionId}/stream`);
    await upstream.reached('after-approval');
    const response = await following;
    upstream.release('after-approval');
    const rest = await readSse(response);
    expect(rest.chunks[0]).toMatchObject({ type: 'start', messageId: answerId });
    expect(rest.chunks).toContainEqual({ type: 'tool-output-available', toolCallId: 'call_hi', output: 'HI' });
    expect(textOf(rest.chunks)).toBe('Shouted: HI');
    expect(streamedRequests().length - before).toBe(2);

    const stored = await getSession(b.url, sessionId);
    expect(stored).toMatchObject({ status: 'idle', lastRunStatus: 'finished' });
    expect(stored.messages).toHaveLength(2);
    expect(stored.messages[1].parts).toContainEqual(
      expect.objectContaining({ state: 'output-available', output: 'HI', approval: { id: approvalId, approved: true } }),
    );
    expect(stored.usage.filter((entry: { kind: string }) => entry.kind === 'chat')).toHaveLength(2);
  });

  it('an instance that dies while it goes on with an approved answer: another continues it, keeping the tool result and the text so far', async () => {
    c = await spawnServer(env);
    const sessionId = await newSession(b.url);
    const approvalId = await askOn(b.url, sessionId, 'crash');
    upstream.enqueue({
      steps: [{ text: 'Half of ' }, { gate: 'crash' }, { text: 'never sent.' }],
      finishReason: 'stop',
      usage: { prompt_tokens: 50, completion_tokens: 4 },
    });
    const answered = await fetch(`${b.url}/api/chat/sessions/${sessionId}/approvals/${approvalId}`, {
      method: 'POST',
      headers: json,
      body: '{"approved":true}',
    });
    expect(await answered.json()).toMatchObject({ resumed: true });
    await upstream.reached('crash');
    // B has written the text so far to the shared log once a reader on C sees it.
    const reader = (await fetch(`${c.url}/api/chat/sessions/${sessionId}/stream`)).body!.getReader();
    let seen = '';
    while (!seen.includes('Half of')) seen += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    // What the model says when shown the answer so far.
    upstream.enqueue({ steps: [{ text: 'the answer.' }], finishReason: 'stop', usage: { prompt_tokens: 70, completion_tokens: 3 } });
    const callsBefore = streamedRequests().length;
    await b.kill();
    await waitUntil(async () => (await getSession(c!.url, sessionId)).status === 'idle', 20_000, 200);
    upstream.release('crash');
    const stored = await getSession(c!.url, sessionId);
    expect(stored.lastRunStatus).toBe('finished');
    expect(stored.messages).toHaveLength(2);
    expect(stored.messages[1].metadata).toMatchObject({ continuations: 1 });
    expect(stored.messages[1].parts).toContainEqual(
      expect.objectContaining({ type: 'tool-echo__echo_upper', state: 'output-available', output: 'CRASH' }),
    );
    expect(stored.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('')).toBe('Half of the answer.');
    // The model was shown the tool call, its result and the text so far, and asked to go on.
    const continued = streamedRequests().slice(callsBefore);
    expect(continued).toHaveLength(1);
    const sent = continued[0]!.body.messages;
    expect(sent.at(-1)).toMatchObject({ role: 'assistant', content: 'Half of ' });
    expect(JSON.stringify(sent)).toContain('CRASH');
    // The call before the pause, the one cut short (estimated) and the continuation: each charged once.
    const chat = stored.usage.filter((entry: { kind: string }) => entry.kind === 'chat');
    expect(chat).toHaveLength(3);
    expect(chat.filter((entry: { estimated?: boolean }) => entry.estimated)).toHaveLength(1);
  });
});
