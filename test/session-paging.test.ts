/**
 * Keyset pagination returns every session exactly once: thousands of sessions created concurrently
 * (many within one millisecond, told apart only by the microseconds the database keeps) are listed
 * page by page through the HTTP route and exported whole, on both databases. A cursor that is not one
 * the server made is a 400.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase } from '../src/store/database.js';
import { SessionsRepository } from '../src/store/sessions-repository.js';
import { databaseTargets } from './support/databases.js';
import { startTestServer } from './support/test-service.js';
import { signJwt } from '../src/http/middleware/jwt.js';

const SESSIONS = 3000;
const BATCH = 100;
/** A page size that does not divide the sessions per millisecond, so pages end inside a millisecond. */
const PAGE = 97;

describe.each(databaseTargets)('paging through %s sessions on $name'.replace('%s', String(SESSIONS)), (target) => {
  it('lists and exports every session exactly once', async () => {
    const created = await target.create();
    const dir = target.name === 'pglite' ? await mkdtemp(join(tmpdir(), 'autochat-paging-')) : undefined;
    const location = { databaseUrl: created.databaseUrl, dataDir: dir ?? created.dataDir };
    try {
      const database = await openDatabase(location);
      try {
        const sessions = new SessionsRepository(database.db, createContentCipher());
        for (let start = 0; start < SESSIONS; start += BATCH) {
          await Promise.all(Array.from({ length: BATCH }, () => sessions.create(randomUUID(), 'pat')));
        }
        // As many as a busy server creates: seven sessions in each millisecond, apart by microseconds.
        await database.rows(sql`
          update chat_sessions s set created_at = t.at, updated_at = t.at
          from (select id, timestamptz '2026-11-27 10:00:00+00' + (n / 7) * interval '1 millisecond' + (n % 7) * interval '1 microsecond' as at
                from (select id, row_number() over (order by random()) - 1 as n from chat_sessions) numbered) t
          where s.id = t.id`);
        await sessions.create(randomUUID(), 'someone-else');
      } finally {
        await database.close();
      }

      const secret = 'paging-secret';
      const headers = { authorization: `Bearer ${signJwt({ sub: 'pat' }, secret)}` };
      const server = await startTestServer({ ...location, authJwtSecret: secret });
      try {
        const listed: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const response: Response = await fetch(`${server.url}/api/chat/sessions?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, {
            headers,
          });
          expect(response.status).toBe(200);
          const page = (await response.json()) as { sessions: { sessionId: string }[]; nextCursor: string | null };
          listed.push(...page.sessions.map((session) => session.sessionId));
          cursor = page.nextCursor;
          pages++;
        } while (cursor && pages <= SESSIONS);
        expect(listed).toHaveLength(SESSIONS);
        expect(new Set(listed).size).toBe(SESSIONS);

        const exported = (await (await fetch(`${server.url}/api/me/export`, { headers })).json()) as { sessions: { sessionId: string }[] };
        const exportedIds = exported.sessions.map((session) => session.sessionId);
        expect(exportedIds).toHaveLength(SESSIONS);
        expect(new Set(exportedIds)).toEqual(new Set(listed));
      } finally {
        await server.close();
      }
    } finally {
      await created.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a cursor the server did not make', () => {
  it('is refused with 400 invalid_request and a sentence, never a 500', async () => {
    const server = await startTestServer({ dataDir: 'memory://' });
    try {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const id = randomUUID();
      const good = encode({ updatedAt: '2026-11-27T10:00:00.123456Z', id });
      expect((await fetch(`${server.url}/api/chat/sessions?cursor=${good}`)).status).toBe(200);
      for (const cursor of [
        encode({ updatedAt: '2026-02-31T10:00:00.000000Z', id }),
        encode({ updatedAt: '0000-01-01T00:00:00Z', id }),
        encode({ updatedAt: '2026-11-27T10:00:00.1234567Z', id }),
        encode({ updatedAt: '2026-11-27T10:00:00+01:00', id }),
        encode({ updatedAt: '2026-11-27T10:00:00Z', id: id.toUpperCase() }),
        encode({ updatedAt: '2026-11-27T10:00:00Z', id, extra: 1 }),
        encode(['2026-11-27T10:00:00Z', id]),
        encode('x'.repeat(300)),
        'not-base64-json',
      ]) {
        const response = await fetch(`${server.url}/api/chat/sessions?cursor=${encodeURIComponent(cursor)}`);
        expect(response.status, cursor).toBe(400);
        expect((await response.json()).error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/cursor/) });
      }
    } finally {
      await server.close();
    }
  });
});
