/** Chat sessions: create, list (newest first, by cursor), read with history, delete. */
import { Hono } from 'hono';
import { isUuid } from '../../chat/chat-service.js';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { listSessionsQuery, sessionIdParam } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

export const sessionRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    // An optional body is allowed but must be JSON; nothing in it is needed yet.
    if (c.req.header('content-length') && c.req.header('content-length') !== '0') await readJson(c, true);
    const session = await c.get('services').chat.createChatSession(c.get('userId'));
    return c.json(session, 201);
  })
  .get('/', async (c) => {
    const query = parseWith(listSessionsQuery, c.req.query(), 'query');
    const page = await c.get('services').chat.listChatSessions(c.get('userId'), { limit: query.limit, cursor: decodeCursor(query.cursor) });
    return c.json({ sessions: page.sessions, nextCursor: page.nextCursor ? encodeCursor(page.nextCursor) : null });
  })
  .get('/:id', async (c) => {
    const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
    const session = await c.get('services').chat.getChatSession(id, c.get('userId'));
    if (!session) throw new ChatError('not_found', 'Chat session not found.');
    return c.json(session);
  })
  .delete('/:id', async (c) => {
    const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
    await c.get('services').chat.deleteChatSession(id, c.get('userId'));
    return c.body(null, 204);
  });

type Cursor = { updatedAt: string; id: string };

/** A UTC time from 1970 to 9999 in ISO form: nothing a session could have, nor a database reject. */
const ISO_TIME = /^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string | undefined): Cursor | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor>;
    // Exactly what encodeCursor writes: an ISO time both JavaScript and PostgreSQL read, and a UUID.
    if (typeof value.updatedAt === 'string' && ISO_TIME.test(value.updatedAt) && !Number.isNaN(Date.parse(value.updatedAt)) && isUuid(value.id)) {
      return { updatedAt: value.updatedAt, id: value.id };
    }
  } catch {
    // fall through
  }
  throw new ChatError('invalid_request', 'The cursor is not valid; use the nextCursor of a previous page.');
}
