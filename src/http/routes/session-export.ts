/** One chat as a file to keep: Markdown to read (the default) or JSON to process. */
import { z } from 'zod';
import { sessionMarkdown } from '../../chat/session-markdown.js';
import { notFound } from '../../errors.js';
import { defineRoute } from '../route-definition.js';
import { sessionExportQuery, sessionIdParam, sessionResponse } from '../schemas.js';
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
        content: { 'text/markdown': z.string(), 'application/json': sessionResponse },
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
      if (format === 'json') {
        c.header('content-disposition', `attachment; filename="${name}.json"`);
        return c.json(session);
      }
      c.header('content-type', 'text/markdown; charset=utf-8');
      c.header('content-disposition', `attachment; filename="${name}.md"`);
      return c.body(sessionMarkdown(session));
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
