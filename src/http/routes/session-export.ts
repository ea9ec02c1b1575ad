/** One chat as a file to keep: Markdown to read (the default) or JSON to process. */
import { z } from 'zod';
import { sessionMarkdown } from '../../chat/session-markdown.js';
import { notFound } from '../../errors.js';
import { defineRoute } from '../route-definition.js';
import { sessionExportQuery, sessionExportResponse, sessionIdParam } from '../schemas.js';
import { parseWith } from '../validation.js';

export const sessionExportRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/chat/sessions/{id}/export',
    operationId: 'exportSession',
    summary: 'One chat as a file: Markdown (format=md, the default) or JSON (format=json)',
    tags: ['sessions'],
    security: ['bearer'],
    request: { params: sessionIdParam, query: sessionExportQuery },
    responses: {
      200: {
        description: 'The chat as an attachment named after its title.',
        content: { 'text/markdown': z.string(), 'application/json': sessionExportResponse },
        headers: ['content-disposition'],
      },
    },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      const { format } = parseWith(sessionExportQuery, c.req.query(), 'query');
      const session = await c.get('services').chat.getChatSession(id, c.get('userId'));
      if (!session) throw notFound();
      const name = fileName(session.title, id);
      // The chat as it reads, then the versions it does not show (edits, other answers).
      const shown = new Set(session.messages.map((message) => message.id));
      const otherMessages = (await c.get('services').chat.allMessages(id, c.get('userId'))).filter((message) => !shown.has(message.id));
      if (format === 'json') {
        c.header('content-disposition', `attachment; filename="${name}.json"`);
        return c.json({ ...session, otherMessages });
      }
      c.header('content-type', 'text/markdown; charset=utf-8');
      c.header('content-disposition', `attachment; filename="${name}.md"`);
      return c.body(sessionMarkdown(session, new Date(), otherMessages));
    },
  }),
];

/** A file name from the title: ASCII letters, digits and dashes only (safe in a header), else the id. */
function fileName(title: string | null, id: string): string {
  const slug = (title ?? '')
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return slug || `chat-${id.slice(0, 8)}`;
}
