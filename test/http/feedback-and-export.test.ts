/**
 * Feedback on answers and the one-chat export, over a real port on each database: stored, shown with
 * the session, replaced, withdrawn, sealed at rest, counted in /metrics, exported, erased, and
 * refused for someone else's chat.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import type { RunningServer } from '../../src/http/server.js';
import { databaseTargets } from '../support/databases.js';
import { startTestServer } from '../support/test-service.js';
import { readSse } from '../support/ui-stream.js';

const SECRET = 'feedback-test-secret';
const COMMENT = 'Clear, short and to the point';

describe.each(databaseTargets)('feedback and chat export on $name', (target) => {
  let server: RunningServer;
  let database: Awaited<ReturnType<typeof target.create>>;
  const as = (user: string) => ({ authorization: `Bearer ${signJwt({ sub: user }, SECRET)}` });
  const api = (user: string, path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: { ...as(user), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });

  /** A session of `user` with one finished exchange; returns the session and its answer's id. */
  async function answered(user: string, message = 'Find me an agent that writes SEO blog posts') {
    const sessionId = (await (await api(user, '/api/chat/sessions', { method: 'POST' })).json()).sessionId as string;
    await readSse(await api(user, `/api/chat/sessions/${sessionId}/stream`, { method: 'POST', body: JSON.stringify({ message }) }));
    const session = await (await api(user, `/api/chat/sessions/${sessionId}`)).json();
    const [question, answer] = session.messages as { id: string }[];
    return { sessionId, questionId: question!.id, answerId: answer!.id };
  }

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer({
      databaseUrl: database.databaseUrl,
      dataDir: database.dataDir,
      authJwtSecret: SECRET,
      encryptionKey: randomBytes(32).toString('base64'),
    });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('stores feedback, shows it on the answer, replaces it, withdraws it, and counts it in /metrics', async () => {
    const { sessionId, answerId } = await answered('ann');
    const path = `/api/chat/sessions/${sessionId}/messages/${answerId}/feedback`;
    const given = await api('ann', path, { method: 'PUT', body: JSON.stringify({ rating: 'up', comment: COMMENT }) });
    expect(given.status).toBe(200);
    expect(await given.json()).toMatchObject({ messageId: answerId, rating: 'up', comment: COMMENT, updatedAt: expect.any(String) });

    const read = async () => (await (await api('ann', `/api/chat/sessions/${sessionId}`)).json()).messages[1].metadata.feedback;
    expect(await read()).toMatchObject({ rating: 'up', comment: COMMENT });

    const replaced = await api('ann', path, { method: 'PUT', body: JSON.stringify({ rating: 'down' }) });
    expect(await replaced.json()).toMatchObject({ rating: 'down' });
    expect(await read()).toEqual({ rating: 'down', updatedAt: expect.any(String) });

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/autochat_feedback_total\{rating="up"\} [1-9]/);
    expect(metrics).toMatch(/autochat_feedback_total\{rating="down"\} [1-9]/);

    expect((await api('ann', path, { method: 'DELETE' })).status).toBe(204);
    expect(await read()).toBeUndefined();
    expect((await api('ann', path, { method: 'DELETE' })).status).toBe(204);
  });

  it("refuses feedback on a question, an unknown message, a bad rating, and someone else's chat", async () => {
    const { sessionId, questionId, answerId } = await answered('bob');
    const put = (user: string, messageId: string, body: unknown) =>
      api(user, `/api/chat/sessions/${sessionId}/messages/${encodeURIComponent(messageId)}/feedback`, {
        method: 'PUT',
        body: JSON.stringify(body),
      });
    expect((await put('bob', questionId, { rating: 'up' })).status).toBe(404);
    expect((await put('bob', 'no-such-message', { rating: 'up' })).status).toBe(404);
    const bad = await put('bob', answerId, { rating: 'meh' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/rating must be "up" or "down"/);
    expect((await put('bob', answerId, { rating: 'up', comment: 'x'.repeat(2001) })).status).toBe(400);
    expect((await put('bob', 'not an id!', { rating: 'up' })).status).toBe(400);
    const stranger = await put('eve', answerId, { rating: 'down' });
    expect(stranger.status).toBe(404);
    expect((await api('bob', `/api/chat/sessions/${sessionId}`)).status).toBe(200);
    expect((await (await api('bob', `/api/chat/sessions/${sessionId}`)).json()).messages[1].metadata.feedback).toBeUndefined();
  });

  /** Rows as stored, read past autochat (PostgreSQL only: PGlite here lives inside the server). */
  async function storedRows(query: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    try {
      return (await client.query(query, values)).rows;
    } finally {
      await client.end();
    }
  }

  it.runIf(target.name === 'postgres')('keeps comments encrypted at rest', async () => {
    const { sessionId, answerId } = await answered('cat');
    await api('cat', `/api/chat/sessions/${sessionId}/messages/${answerId}/feedback`, {
      method: 'PUT',
      body: JSON.stringify({ rating: 'up', comment: COMMENT }),
    });
    const rows = await storedRows('select comment from message_feedback where session_id = $1', [sessionId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.comment).toMatch(/^enc1:/);
    expect(rows[0]!.comment).not.toContain('Clear');
  });

  it('exports one chat as Markdown (the default) or JSON, as an attachment, only to its owner', async () => {
    const { sessionId, answerId } = await answered('dan');
    await api('dan', `/api/chat/sessions/${sessionId}/messages/${answerId}/feedback`, {
      method: 'PUT',
      body: JSON.stringify({ rating: 'up', comment: COMMENT }),
    });
    const markdown = await api('dan', `/api/chat/sessions/${sessionId}/export`);
    expect(markdown.status).toBe(200);
    expect(markdown.headers.get('content-type')).toMatch(/^text\/markdown; charset=utf-8/);
    expect(markdown.headers.get('content-disposition')).toMatch(/^attachment; filename="[a-z0-9-]+\.md"$/);
    const text = await markdown.text();
    expect(text).toMatch(/^# \S/);
    expect(text).toContain('## You\n\nFind me an agent that writes SEO blog posts');
    expect(text).toMatch(/> 🔧 `find_agent` `\{"query":"[^"]+"\}` → \d+ agents?: /);
    expect(text).toContain(`_Feedback: 👍 — ${COMMENT}_`);

    const json = await api('dan', `/api/chat/sessions/${sessionId}/export?format=json`);
    expect(json.headers.get('content-disposition')).toMatch(/\.json"$/);
    expect((await json.json()).messages).toHaveLength(2);

    expect((await api('eve', `/api/chat/sessions/${sessionId}/export`)).status).toBe(404);
    expect((await api('dan', `/api/chat/sessions/${sessionId}/export?format=pdf`)).status).toBe(400);
  });

  it('includes feedback in the GDPR export and erases it with the user', async () => {
    const { sessionId, answerId } = await answered('fay');
    await api('fay', `/api/chat/sessions/${sessionId}/messages/${answerId}/feedback`, {
      method: 'PUT',
      body: JSON.stringify({ rating: 'down', comment: COMMENT }),
    });
    const exported = await (await api('fay', '/api/me/export')).json();
    expect(exported.feedback).toEqual([
      { sessionId, messageId: answerId, rating: 'down', comment: COMMENT, updatedAt: expect.any(String) },
    ]);
    expect((await api('fay', '/api/me', { method: 'DELETE' })).status).toBe(204);
    expect((await (await api('fay', '/api/me/export')).json()).feedback).toEqual([]);
    if (target.name === 'postgres') expect(await storedRows('select 1 from message_feedback where user_id = $1', ['fay'])).toEqual([]);
  });
});
