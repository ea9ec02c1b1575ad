/** One chat as a file to keep: Markdown to read (the default) or JSON to process. */
import { Hono } from 'hono';
import { sessionMarkdown } from '../../chat/session-markdown.js';
import { notFound } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { sessionExportQuery, sessionIdParam } from '../schemas.js';
import { parseWith } from '../validation.js';

export const sessionExportRoutes = new Hono<AppEnv>().get('/:id/export', async (c) => {
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
});

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
