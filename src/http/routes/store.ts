/** The agent store's search, ranked by the same function as the `find_agent` tool. */
import { defineRoute } from '../route-definition.js';
import { agentSearchResponse, storeQuery } from '../schemas.js';
import { parseWith } from '../validation.js';

export const storeRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/store/agents',
    operationId: 'searchAgents',
    summary: 'Search the agent store (typo-tolerant)',
    tags: ['store'],
    security: ['bearer'],
    request: { query: storeQuery },
    responses: { 200: { description: 'Matches, best first.', content: { 'application/json': agentSearchResponse } } },
    errors: [400, 503],
    handler: async (c) => {
      const query = parseWith(storeQuery, c.req.query(), 'query');
      return c.json({ agents: await c.get('services').agents.search(query.q, query.limit) });
    },
  }),
];
