/** The caller's agent library: list, add by slug, remove. */
import { ChatError, noSuchAgent } from '../../errors.js';
import { defineRoute } from '../route-definition.js';
import { libraryEntryResponse, libraryResponse, librarySlugBody, librarySlugParam } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

export const libraryRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/library',
    operationId: 'listLibrary',
    summary: "The caller's agent library, most recently added first",
    tags: ['library'],
    security: ['bearer'],
    responses: { 200: { description: 'The library.', content: { 'application/json': libraryResponse } } },
    errors: [503],
    handler: async (c) => c.json({ agents: await c.get('services').agents.library(c.get('userId')) }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/library',
    operationId: 'addToLibrary',
    summary: 'Add a store agent to the library (adding it again is harmless)',
    tags: ['library'],
    security: ['bearer'],
    request: { body: { schema: librarySlugBody, required: true } },
    responses: { 201: { description: 'The library entry.', content: { 'application/json': libraryEntryResponse } } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { slug } = parseWith(librarySlugBody, await readJson(c), 'request body');
      const entry = await c.get('services').agents.addToLibrary(c.get('userId'), slug);
      if (!entry) throw noSuchAgent(slug);
      return c.json(entry, 201);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/library/{slug}',
    operationId: 'removeFromLibrary',
    summary: 'Remove an agent from the library',
    tags: ['library'],
    security: ['bearer'],
    request: { params: librarySlugParam },
    responses: { 204: { description: 'Removed.' } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { slug } = parseWith(librarySlugParam, c.req.param(), 'slug');
      const removed = await c.get('services').agents.removeFromLibrary(c.get('userId'), slug);
      if (!removed) throw new ChatError('not_found', 'That agent is not in your library.');
      return c.body(null, 204);
    },
  }),
];
