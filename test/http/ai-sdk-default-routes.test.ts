/**
 * `useChat`'s defaults against autochat, driven by the AI SDK's own client (`AbstractChat` with
 * `DefaultChatTransport`, no prepare… functions): `POST /api/chat` with the body's `id` as the chat,
 * created with its first message; `GET /api/chat/{id}/stream` resuming a running answer; a refused
 * first message leaving no chat behind; one user's chat id never reaching another's chat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import { sessionIdOf } from '../../src/http/routes/ai-sdk-chat.js';
import type { RunningServer } from '../../src/http/server.js';
import { say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { defaultChat } from '../support/headless-chat.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { parseSseText, rebuildMessage } from '../support/ui-stream.js';

const textOf = (message: { parts: { type: string; text?: string }[] } | undefined) =>
  (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

describe('the AI SDK default chat routes', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  let authed: RunningServer;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    [server, authed] = await Promise.all([
      startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' })),
      startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://', authJwtSecret: 'default-routes-secret' })),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.close(), authed?.close()]);
    await upstream?.close();
  });

  it('answers a useChat with only `api` set, storing the chat under its id, and a second message continues it', async () => {
    upstream.setDefault((request) => (request.body.tools?.length ? say('Hello from the default route.') : say('Greeting')));
    const chat = defaultChat(`${server.url}/api/chat`, 'my-chat-1');
    await chat.sendMessage({ text: 'Hi there' });
    expect(chat.status).toBe('ready');
    expect(chat.error).toBeUndefined();
    expect(textOf(chat.messages.at(-1))).toBe('Hello from the default route.');

    await chat.sendMessage({ text: 'And again' });
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    const sessionId = sessionIdOf('local', 'my-chat-1');
    const stored = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json();
    expect(stored.messages.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(stored.messages[2].parts[0].text).toBe('And again');
  });

  it('resumes a running answer at GET /api/chat/{id}/stream, as useChat({ resume: true }) does', async () => {
    const answer = 'one two three four five six seven eight nine ten';
    upstream.setDefault((request) => (request.body.tools?.length ? say(answer, 40) : say('Counting')));
    const first = defaultChat(`${server.url}/api/chat`, 'resumed-chat');
    const sending = first.sendMessage({ text: 'Count to ten, slowly' });
    const sessionId = sessionIdOf('local', 'resumed-chat');
    await expect.poll(async () => (await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json()).status).toBe('running');

    const second = defaultChat(`${server.url}/api/chat`, 'resumed-chat');
    await second.resumeStream();
    expect(textOf(second.messages.at(-1))).toBe(answer);
    await sending;
    expect(textOf(first.messages.at(-1))).toBe(answer);

    const idle = await fetch(`${server.url}/api/chat/resumed-chat/stream`);
    expect(idle.status).toBe(204);
  });

  it('a refused first message (empty) is a 400 and leaves no chat behind', async () => {
    const before = (await (await fetch(`${server.url}/api/chat/sessions?limit=100`)).json()).sessions.length;
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'empty-first',
        messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: '   ' }] }],
        trigger: 'submit-message',
      }),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('invalid_request');
    const after = (await (await fetch(`${server.url}/api/chat/sessions?limit=100`)).json()).sessions.length;
    expect(after).toBe(before);
  });

  it("the same chat id of two users names two chats; a UUID of another user's session is 404", async () => {
    upstream.setDefault((request) => (request.body.tools?.length ? say('private answer') : say('Title')));
    const headers = (sub: string) => ({
      authorization: `Bearer ${signJwt({ sub }, 'default-routes-secret')}`,
      'content-type': 'application/json',
    });
    // The same chat id and the same message id from both users: neither learns of the other.
    const body = JSON.stringify({
      id: 'shared-id',
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hello' }] }],
      trigger: 'submit-message',
    });
    for (const user of ['ann', 'bob']) {
      const response = await fetch(`${authed.url}/api/chat`, { method: 'POST', headers: headers(user), body });
      expect(response.status).toBe(200);
      const parsed = await parseSseText(await response.text());
      expect(parsed.invalid).toEqual([]);
      expect(textOf(await rebuildMessage(parsed.chunks))).toBe('private answer');
    }
    expect(sessionIdOf('ann', 'shared-id')).not.toBe(sessionIdOf('bob', 'shared-id'));
    const annSession = sessionIdOf('ann', 'shared-id');
    const intruder = await fetch(`${authed.url}/api/chat`, {
      method: 'POST',
      headers: headers('eve'),
      body: JSON.stringify({ id: annSession, messages: [{ id: 'x1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }] }),
    });
    expect(intruder.status).toBe(404);
    expect((await fetch(`${authed.url}/api/chat/${annSession}/stream`, { headers: headers('eve') })).status).toBe(404);
  });
});
