/**
 * Branches over HTTP: the AI SDK's own client (`AbstractChat` + `DefaultChatTransport`, as `useChat`)
 * regenerating an answer and editing a message on both the session route and the default route; the
 * plain body's `parentId`; switching versions with `PUT …/active-leaf`; refusals with a sentence;
 * and exports holding every version.
 */
import { DefaultChatTransport } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import { sessionIdOf } from '../../src/http/routes/ai-sdk-chat.js';
import type { RunningServer } from '../../src/http/server.js';
import { say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { defaultChat } from '../support/headless-chat.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { parseSseText } from '../support/ui-stream.js';

type Message = {
  id: string;
  role: string;
  parts: { type: string; text?: string }[];
  parentId?: string | null;
  siblingIds?: string[];
  branch?: { index: number; count: number };
};
const textOf = (message: Message | undefined) => (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

describe('branches over HTTP', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  const secret = 'branches-secret';
  const headers = (sub: string) => ({ authorization: `Bearer ${signJwt({ sub }, secret)}`, 'content-type': 'application/json' });
  let answers = 0;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    // Each answer says which it is, so versions can be told apart; titles say "Title".
    upstream.setDefault((request) => (request.body.tools?.length ? say(`answer ${++answers}`) : say('Title')));
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://', authJwtSecret: secret }));
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  const get = async (path: string, user = 'ann') => fetch(`${server.url}${path}`, { headers: headers(user) });
  const session = async (id: string, user = 'ann') =>
    (await (await get(`/api/chat/sessions/${id}`, user)).json()) as { messages: Message[]; status: string };

  it('useChat regenerate() keeps both answers; an edit branches where the messages diverge; flipping shows each version', async () => {
    const created = await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers: headers('ann') })).json();
    const id = created.sessionId as string;
    const chat = defaultChat(`${server.url}/api/chat/sessions/${id}/stream`, id, {
      transport: new DefaultChatTransport({ api: `${server.url}/api/chat/sessions/${id}/stream`, headers: headers('ann') }),
    });
    await chat.sendMessage({ text: 'first' });
    await chat.sendMessage({ text: 'second' });
    const replaced = chat.messages.at(-1)!;
    await chat.regenerate();
    expect(chat.error).toBeUndefined();
    expect(chat.messages.map(textOf)).toEqual(['first', 'answer 1', 'second', 'answer 3']);

    let stored = await session(id);
    expect(stored.messages.map(textOf)).toEqual(['first', 'answer 1', 'second', 'answer 3']);
    expect(stored.messages[3]).toMatchObject({
      parentId: stored.messages[2]!.id,
      siblingIds: [replaced.id, chat.messages[3]!.id],
      branch: { index: 1, count: 2 },
    });
    // The model was shown the question, not the answer it replaced.
    expect(JSON.stringify(upstream.requests.filter((r) => r.body.tools?.length).at(-1)!.body.messages)).not.toContain('answer 2');

    // An edit, as a client does it: drop the messages from the edited one on, send the new text.
    chat.messages = chat.messages.slice(0, 2);
    await chat.sendMessage({ text: 'second, edited' });
    stored = await session(id);
    expect(stored.messages.map(textOf)).toEqual(['first', 'answer 1', 'second, edited', 'answer 4']);
    expect(stored.messages[2]!.branch).toEqual({ index: 1, count: 2 });

    // Flip back to the first version of the second message: its latest answer comes with it.
    const flipped = await fetch(`${server.url}/api/chat/sessions/${id}/active-leaf`, {
      method: 'PUT',
      headers: headers('ann'),
      body: JSON.stringify({ messageId: stored.messages[2]!.siblingIds![0] }),
    });
    expect(flipped.status).toBe(200);
    expect(((await flipped.json()) as { messages: Message[] }).messages.map(textOf)).toEqual(['first', 'answer 1', 'second', 'answer 3']);
    expect((await session(id)).messages.map(textOf)).toEqual(['first', 'answer 1', 'second', 'answer 3']);
    // …and the next message continues that version.
    const next = await fetch(`${server.url}/api/chat/sessions/${id}/stream`, {
      method: 'POST',
      headers: headers('ann'),
      body: JSON.stringify({ message: 'third' }),
    });
    expect((await parseSseText(await next.text())).invalid).toEqual([]);
    expect((await session(id)).messages.map(textOf)).toEqual(['first', 'answer 1', 'second', 'answer 3', 'third', 'answer 5']);

    // Exports hold every version.
    const json = (await (await get(`/api/chat/sessions/${id}/export?format=json`)).json()) as {
      messages: Message[];
      otherMessages: Message[];
    };
    expect(json.otherMessages.map(textOf)).toEqual(['answer 2', 'second, edited', 'answer 4']);
    const markdown = await (await get(`/api/chat/sessions/${id}/export?format=md`)).text();
    expect(markdown).toContain('# Other versions');
    expect(markdown).toContain('second, edited');
    const everything = await (await get('/api/me/export')).text();
    for (const text of ['answer 2', 'second, edited', 'answer 4', 'answer 5']) expect(everything).toContain(text);
  });

  it('the plain body branches from parentId; null starts a new first message; a parent not in the chat is a 400 with a sentence', async () => {
    const id = (
      (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers: headers('ann') })).json()) as { sessionId: string }
    ).sessionId;
    const send = (body: unknown, user = 'ann') =>
      fetch(`${server.url}/api/chat/sessions/${id}/stream`, { method: 'POST', headers: headers(user), body: JSON.stringify(body) });
    await (await send({ message: 'hello', messageId: 'p1' })).text();
    await (await send({ message: 'more', messageId: 'p2' })).text();
    const first = (await session(id)).messages[1]!;
    await (await send({ message: 'other', messageId: 'p2b', parentId: first.id })).text();
    expect((await session(id)).messages.map((message) => message.id).slice(0, 3)).toEqual(['p1', first.id, 'p2b']);
    await (await send({ message: 'restart', parentId: null })).text();
    const restarted = await session(id);
    expect(restarted.messages.map(textOf)[0]).toBe('restart');
    expect(restarted.messages[0]!.branch).toEqual({ index: 1, count: 2 });

    const before = (await session(id)).messages;
    for (const parentId of ['missing', 'p1" or 1=1 --']) {
      const refused = await send({ message: 'x', parentId });
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/branch from.*not in this chat/) });
    }
    // Another user's chat stays 404, and no refused request stored anything or moved the path.
    expect((await send({ message: 'x', parentId: 'p1' }, 'eve')).status).toBe(404);
    const regenerate = await fetch(`${server.url}/api/chat/sessions/${id}/stream`, {
      method: 'POST',
      headers: headers('eve'),
      body: JSON.stringify({
        id,
        messages: [{ id: 'p1', role: 'user', parts: [{ type: 'text', text: 'hello' }] }],
        trigger: 'regenerate-message',
      }),
    });
    expect(regenerate.status).toBe(404);
    expect((await session(id)).messages).toEqual(before);
  });

  it('switching versions: 404 for a message or a session that is not there or not yours, 400 for a malformed body', async () => {
    const id = (
      (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers: headers('ann') })).json()) as { sessionId: string }
    ).sessionId;
    await (
      await fetch(`${server.url}/api/chat/sessions/${id}/stream`, {
        method: 'POST',
        headers: headers('ann'),
        body: JSON.stringify({ message: 'hi', messageId: 's1' }),
      })
    ).text();
    const put = (body: unknown, user = 'ann') =>
      fetch(`${server.url}/api/chat/sessions/${id}/active-leaf`, { method: 'PUT', headers: headers(user), body: JSON.stringify(body) });
    expect((await put({ messageId: 'nope' })).status).toBe(404);
    expect((await put({ messageId: 's1' }, 'eve')).status).toBe(404);
    const bad = await put({ messageId: 's1', extra: true });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBeTruthy();
    expect((await put({})).status).toBe(400);
    expect((await put({ messageId: 's1' })).status).toBe(200);
  });

  it('the default route regenerates too (useChat with only `api`)', async () => {
    const chat = defaultChat(`${server.url}/api/chat`, 'branchy', {
      transport: new DefaultChatTransport({ api: `${server.url}/api/chat`, headers: headers('bob') }),
    });
    await chat.sendMessage({ text: 'question' });
    const firstAnswer = textOf(chat.messages.at(-1));
    await chat.regenerate({ messageId: chat.messages.at(-1)!.id });
    expect(chat.error).toBeUndefined();
    const stored = await session(sessionIdOf('bob', 'branchy'), 'bob');
    expect(stored.messages).toHaveLength(2);
    expect(textOf(stored.messages[1])).not.toBe(firstAnswer);
    expect(stored.messages[1]!.branch).toEqual({ index: 1, count: 2 });
  });
});
