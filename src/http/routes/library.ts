/** The caller's agent library: list, add by slug, remove. */
import { Hono } from 'hono';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { librarySlugBody, librarySlugParam } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

export const libraryRoutes = new Hono<AppEnv>()
  .get('/', async (c) => c.json({ agents: await c.get('services').chat.agents.library(c.get('userId')) }))
  .post('/', async (c) => {
    const { slug } = parseWith(librarySlugBody, await readJson(c), 'request body');
    const entry = await c.get('services').chat.agents.addToLibrary(c.get('userId'), slug);
    if (!entry) throw new ChatError('not_found', `No agent with slug "${slug}" exists in the store.`);
    return c.json(entry, 201);
  })
  .delete('/:slug', async (c) => {
    const { slug } = parseWith(librarySlugParam, c.req.param(), 'slug');
    const removed = await c.get('services').chat.agents.removeFromLibrary(c.get('userId'), slug);
    if (!removed) throw new ChatError('not_found', 'That agent is not in your library.');
    return c.body(null, 204);
  });
