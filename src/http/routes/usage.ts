/** The caller's token budgets: used, limit and reset time, today and this week. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-context.js';

export const usageRoutes = new Hono<AppEnv>().get('/', async (c) => c.json(await c.get('services').chat.usage(c.get('userId'))));
