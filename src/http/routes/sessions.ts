/** Chat sessions: create, list (newest first, by cursor), read with history (its active path), switch versions, delete. */
import { ChatError } from '../../errors.js';
import { defineRoute } from '../route-definition.js';
import { activeLeafBody, createSessionBody, listSessionsQuery, sessionIdParam, sessionListResponse, sessionResponse } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

export const sessionRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/chat/sessions',
    operationId: 'createSession',
    summary: 'Create a chat session',
    tags: ['sessions'],
    security: ['bearer'],
    request: { body: { schema: createSessionBody, required: false, description: 'None is needed; one that is sent must be `{}`.' } },
    responses: { 201: { description: 'The new session.', content: { 'application/json': sessionResponse } } },
    errors: [400, 503],
    handler: async (c) => {
      // Nothing in a body is needed yet; one that is sent must be JSON and say nothing unknown.
      parseWith(createSessionBody, await readJson(c, true), 'request body', 'Send no body, or {}.');
      const session = await c.get('services').chat.createChatSession(c.get('userId'));
      return c.json(session, 201);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/chat/sessions',
    operationId: 'listSessions',
    summary: "List the caller's sessions, most recently active first",
    tags: ['sessions'],
    security: ['bearer'],
    request: { query: listSessionsQuery },
    responses: {
      200: {
        description: 'A page of sessions; `nextCursor` is null on the last page.',
        content: { 'application/json': sessionListResponse },
      },
    },
    errors: [400, 503],
    handler: async (c) => {
      const query = parseWith(listSessionsQuery, c.req.query(), 'query');
      const page = await c
        .get('services')
        .chat.listChatSessions(c.get('userId'), { limit: query.limit, cursor: decodeCursor(query.cursor) });
      return c.json({ sessions: page.sessions, nextCursor: page.nextCursor ? encodeCursor(page.nextCursor) : null });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/chat/sessions/{id}',
    operationId: 'getSession',
    summary: 'A session with its messages and usage',
    tags: ['sessions'],
    security: ['bearer'],
    request: { params: sessionIdParam },
    responses: { 200: { description: 'The session.', content: { 'application/json': sessionResponse } } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      const session = await c.get('services').chat.getChatSession(id, c.get('userId'));
      if (!session) throw new ChatError('not_found', 'Chat session not found.');
      return c.json(session);
    },
  }),
  defineRoute({
    method: 'put',
    path: '/api/chat/sessions/{id}/active-leaf',
    operationId: 'switchBranch',
    summary: 'Show another version: the latest message under the given one becomes the end of the active path',
    description:
      'Flips between edits and regenerated answers (a message’s `siblingIds`). The model sees the active path from the next message on.',
    tags: ['sessions'],
    security: ['bearer'],
    request: { params: sessionIdParam, body: { schema: activeLeafBody, required: true } },
    responses: { 200: { description: 'The session as it now reads.', content: { 'application/json': sessionResponse } } },
    errors: [400, 404, 409, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      const { messageId } = parseWith(activeLeafBody, await readJson(c), 'request body', 'Send {"messageId": "<a message of this chat>"}.');
      return c.json(await c.get('services').chat.switchBranch(id, c.get('userId'), messageId));
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/chat/sessions/{id}',
    operationId: 'deleteSession',
    summary: 'Delete a session (a running answer is stopped first)',
    tags: ['sessions'],
    security: ['bearer'],
    request: { params: sessionIdParam },
    responses: { 204: { description: 'Deleted.' } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      await c.get('services').chat.deleteChatSession(id, c.get('userId'));
      return c.body(null, 204);
    },
  }),
];

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
    if (
      Object.keys(rest).length === 0 &&
      typeof updatedAt === 'string' &&
      typeof id === 'string' &&
      CURSOR_ID.test(id) &&
      isRealTime(updatedAt)
    ) {
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
