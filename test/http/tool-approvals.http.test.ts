/**
 * Tool approvals over HTTP, driven by the AI SDK's own chat client (`AbstractChat` with an unmodified
 * `DefaultChatTransport`): the stream's `tool-approval-request`, `addToolApprovalResponse` with
 * `sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses` on both the session
 * stream route and the AI SDK default route, and `POST …/approvals/{approvalId}` for other clients.
 */
import { lastAssistantMessageIsCompleteWithApprovalResponses, tool, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sessionIdOf } from '../../src/http/routes/ai-sdk-chat.js';
import type { RunningServer } from '../../src/http/server.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { defaultChat, type HeadlessChat } from '../support/headless-chat.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { readSse, textOf as streamText } from '../support/ui-stream.js';

type ToolPart = { type: string; state: string; toolCallId: string; approval?: { id: string; approved?: boolean }; output?: unknown };
const toolParts = (message: UIMessage | undefined) =>
  (message?.parts ?? []).filter((part) => part.type.startsWith('tool-')) as unknown as ToolPart[];
const textOf = (message: UIMessage | undefined) => (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

/** Resolves when the chat's status is `ready` again after a request. */
async function settled(chat: HeadlessChat): Promise<void> {
  await expect.poll(() => chat.status, { timeout: 10_000 }).toBe('ready');
}

describe('tool approvals over HTTP', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  const shouted: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const shout = tool({
      description: 'Shouts the text back',
      inputSchema: z.object({ text: z.string() }),
      execute: async ({ text }) => {
        shouted.push(text);
        return text.toUpperCase();
      },
    });
    server = await startTestServer(
      upstreamOptions(upstream.url, { dataDir: 'memory://', extraTools: { shout }, toolApproval: { required: ['shout'] } }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it.each([
    ['the session stream route', (sessionId: string) => `/api/chat/sessions/${sessionId}/stream`],
    ['the AI SDK default route', () => '/api/chat'],
  ])('useChat approves with addToolApprovalResponse on %s, and the same answer goes on', async (_route, path) => {
    const created = await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json();
    const chatId = created.sessionId as string;
    upstream.setDefault((request) => (request.body.stream ? say('Shouted it for you.') : say('Shouting')));
    const word = `hello${path('x').length}`;
    upstream.enqueue(callTool('shout', { text: word }, `call_${chatId}`));
    const chat = defaultChat(`${server.url}${path(chatId)}`, chatId, {
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });

    await chat.sendMessage({ text: 'Shout hello' });
    await settled(chat);
    expect(chat.error).toBeUndefined();
    const [asked] = toolParts(chat.lastMessage);
    expect(asked).toMatchObject({ type: 'tool-shout', state: 'approval-requested', approval: { id: expect.any(String) } });
    expect(shouted).not.toContain(word);

    await chat.addToolApprovalResponse({ id: asked!.approval!.id, approved: true });
    await expect.poll(() => textOf(chat.lastMessage), { timeout: 10_000 }).toBe('Shouted it for you.');
    await settled(chat);
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(toolParts(chat.lastMessage)[0]).toMatchObject({ state: 'output-available', output: word.toUpperCase() });
    expect(shouted.filter((text) => text === word)).toHaveLength(1);

    const stored = await (await fetch(`${server.url}/api/chat/sessions/${sessionIdOf('local', chatId)}`)).json();
    expect(stored.status).toBe('idle');
    expect(stored.messages).toHaveLength(2);
    expect(stored.messages[1].id).toBe(chat.lastMessage!.id);
    expect(toolParts(stored.messages[1])[0]).toMatchObject({ state: 'output-available', approval: { approved: true } });
  });

  it('denies with addToolApprovalResponse: the tool never runs and the model is told', async () => {
    const created = await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json();
    upstream.setDefault((request) => (request.body.stream ? say('Fine, I will stay quiet.') : say('Quiet')));
    upstream.enqueue(callTool('shout', { text: 'never' }, 'call_never'));
    const chat = defaultChat(`${server.url}/api/chat/sessions/${created.sessionId}/stream`, created.sessionId, {
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });
    await chat.sendMessage({ text: 'Shout never' });
    await settled(chat);
    const [asked] = toolParts(chat.lastMessage);
    await chat.addToolApprovalResponse({ id: asked!.approval!.id, approved: false, reason: 'not now' });
    await expect.poll(() => textOf(chat.lastMessage), { timeout: 10_000 }).toBe('Fine, I will stay quiet.');
    expect(toolParts(chat.lastMessage)[0]).toMatchObject({ state: 'output-denied' });
    expect(shouted).not.toContain('never');
  });

  it('answers through POST …/approvals/{approvalId}; GET …/stream then follows the answer, and the session shows the request until then', async () => {
    const created = await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json();
    const base = `${server.url}/api/chat/sessions/${created.sessionId}`;
    upstream.setDefault((request) => (request.body.stream ? say('Done.') : say('Title')));
    upstream.enqueue(callTool('shout', { text: 'curl' }, 'call_curl'));
    const first = await readSse(
      await fetch(`${base}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Shout curl' }),
      }),
    );
    expect(first.invalid).toEqual([]);
    const request = first.chunks.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string };

    const waiting = await (await fetch(base)).json();
    expect(waiting.pendingApprovals).toEqual([
      expect.objectContaining({ approvalId: request.approvalId, toolName: 'shout', input: { text: 'curl' } }),
    ]);
    expect((await fetch(`${base}/stream`)).status).toBe(204);
    // A second message while it waits: 409.
    const busy = await fetch(`${base}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello?' }),
    });
    expect(busy.status).toBe(409);
    expect((await busy.json()).error).toMatchObject({ code: 'run_in_progress', message: expect.stringContaining('approval') });
    // A waiting answer runs nowhere.
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^autochat_active_runs 0$/m);

    const post = (id: string, body: unknown) =>
      fetch(`${base}/approvals/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post(request.approvalId, { approved: 'yes' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_request');
    expect((await post('no-such-approval', { approved: true })).status).toBe(404);
    expect(
      (
        await fetch(`${server.url}/api/chat/sessions/${crypto.randomUUID()}/approvals/${request.approvalId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"approved":true}',
        })
      ).status,
    ).toBe(404);

    // The continuation waits upstream, so a reader attaching after the answer sees it from its start.
    upstream.enqueue({
      steps: [{ gate: 'continue' }, { text: 'Done.' }],
      finishReason: 'stop',
      usage: { prompt_tokens: 40, completion_tokens: 1 },
    });
    const answered = await post(request.approvalId, { approved: true });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ approvalId: request.approvalId, toolName: 'shout', approved: true, resumed: true });
    const following = fetch(`${base}/stream`);
    await upstream.reached('continue');
    const response = await following;
    expect(response.status).toBe(200);
    upstream.release('continue');
    const rest = await readSse(response);
    expect(rest.invalid).toEqual([]);
    expect(rest.chunks).toContainEqual({ type: 'tool-output-available', toolCallId: 'call_curl', output: 'CURL' });
    expect(streamText(rest.chunks)).toBe('Done.');
    const done = await (await fetch(base)).json();
    expect(done.status).toBe('idle');
    expect(done.pendingApprovals).toBeUndefined();

    // A second answer changes nothing: 200, the stored answer, nothing resumed.
    expect(await (await post(request.approvalId, { approved: false })).json()).toMatchObject({ approved: true, resumed: false });

    const exported = await (await fetch(`${server.url}/api/me/export`)).json();
    expect(exported.toolApprovals).toContainEqual(
      expect.objectContaining({ approvalId: request.approvalId, approved: true, sessionId: created.sessionId }),
    );
  });

  it('streams the continuation in the answer to POST …/approvals/{approvalId} when asked to (Accept: text/event-stream)', async () => {
    const created = await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json();
    const base = `${server.url}/api/chat/sessions/${created.sessionId}`;
    upstream.setDefault((request) => (request.body.stream ? say('Streamed on.') : say('Title')));
    upstream.enqueue(callTool('shout', { text: 'sse' }, 'call_sse'));
    const first = await readSse(
      await fetch(`${base}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Shout sse' }),
      }),
    );
    const request = first.chunks.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string };
    const response = await fetch(`${base}/approvals/${request.approvalId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ approved: true }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const rest = await readSse(response);
    expect(rest.invalid).toEqual([]);
    expect(rest.chunks).toContainEqual({ type: 'tool-output-available', toolCallId: 'call_sse', output: 'SSE' });
    expect(streamText(rest.chunks)).toBe('Streamed on.');
  });
});
