/** Session routes, happy paths, over a real port on each database. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { databaseTargets } from '../support/databases.js';
import { startTestServer } from '../support/test-service.js';
import { readSse } from '../support/ui-stream.js';

describe.each(databaseTargets)('session routes on $name', (target) => {
  let server: RunningServer;
  let database: Awaited<ReturnType<typeof target.create>>;
  const api = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('creates a session (201) and reads it back with messages and usage', async () => {
    const created = await api('/api/chat/sessions', { method: 'POST' });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBeTruthy();
    const session = await created.json();
    expect(session).toMatchObject({ sessionId: expect.any(String), userId: 'local', title: null, messages: [], usage: [], status: 'idle' });
    const read = await api(`/api/chat/sessions/${session.sessionId}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ sessionId: session.sessionId, messages: [], usage: [] });
  });

  it('lists the caller’s sessions newest first, a page at a time', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push((await (await api('/api/chat/sessions', { method: 'POST' })).json()).sessionId);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await (await api(`/api/chat/sessions?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      expect(page.sessions.length).toBeLessThanOrEqual(2);
      seen.push(...page.sessions.map((session: { sessionId: string }) => session.sessionId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    // Newest first: the five just made come first, in reverse order of creation.
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
  });

  it('moves a session to the top when it gets a message, and deletes it (204, then 404)', async () => {
    const older = (await (await api('/api/chat/sessions', { method: 'POST' })).json()).sessionId;
    await api('/api/chat/sessions', { method: 'POST' });
    const stream = await api(`/api/chat/sessions/${older}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Hello' }),
    });
    await readSse(stream);
    const first = (await (await api('/api/chat/sessions?limit=1')).json()).sessions[0];
    expect(first.sessionId).toBe(older);
    expect((await api(`/api/chat/sessions/${older}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/api/chat/sessions/${older}`)).status).toBe(404);
  });

  it('reports usage budgets and searches the store', async () => {
    const usage = await (await api('/api/usage')).json();
    expect(usage).toMatchObject({ daily: { used: expect.any(Number), limit: 2_500_000 }, weekly: { limit: 12_500_000 } });
    expect(Date.parse(usage.daily.resetsAt)).toBeGreaterThan(Date.now());
    const store = await (await api('/api/store/agents?q=moneny%20printing%20agent&limit=3')).json();
    expect(store.agents).toHaveLength(3);
    expect(store.agents[0]).toMatchObject({ slug: 'money-printing-agent', score: expect.any(Number), categories: expect.any(Array) });
  });
});
