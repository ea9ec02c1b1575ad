/** Chat sessions: create, list (newest first, by cursor), read with history, delete. */
import { Hono } from 'hono';
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

/** An ISO time in UTC with up to six decimals (the database keeps microseconds). */
const CURSOR_TIME = /^(\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$/;
const CURSOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/**
 * The cursor back from its opaque text, or a 400: anything but what `encodeCursor` makes (a real UTC
 * time the database accepts, to the microsecond, and a session id) is refused before it reaches SQL.
 */
function decodeCursor(text: string | undefined): Cursor | undefined {
  if (!text) return undefined;
  const value = text.length <= 200 ? parseJson(Buffer.from(text, 'base64url').toString('utf8')) : undefined;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const { updatedAt, id, ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length === 0 && typeof updatedAt === 'string' && typeof id === 'string' && CURSOR_ID.test(id) && isRealTime(updatedAt)) {
      return { updatedAt, id };
    }
  }
  throw new ChatError('invalid_request', 'The cursor is not valid; use the nextCursor of a previous page.');
}

/** True for a time that exists (no 31 February) within the years the database and JavaScript share. */
function isRealTime(text: string): boolean {
  const year = Number(CURSOR_TIME.exec(text)?.[1] ?? 0);
  if (year < 1970 || year > 9999) return false;
  const parsed = new Date(text);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === text.slice(0, 19);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
