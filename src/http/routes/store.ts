/** The agent store's search, ranked by the same function as the `find_agent` tool. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-context.js';
import { storeQuery } from '../schemas.js';
import { parseWith } from '../validation.js';

export const storeRoutes = new Hono<AppEnv>().get('/agents', async (c) => {
  const query = parseWith(storeQuery, c.req.query(), 'query');
  return c.json({ agents: await c.get('services').chat.agents.search(query.q, query.limit) });
});
