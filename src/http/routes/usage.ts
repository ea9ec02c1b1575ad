/** The caller's token budgets: used, limit and reset time, today and this week. */
import { defineRoute } from '../route-definition.js';
import { usageResponse } from '../schemas.js';

export const usageRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/usage',
    operationId: 'getUsage',
    summary: "The caller's token budgets",
    tags: ['usage'],
    security: ['bearer'],
    responses: { 200: { description: 'Used, limit and reset time, today and this week.', content: { 'application/json': usageResponse } } },
    errors: [503],
    handler: async (c) => c.json(await c.get('services').chat.usage(c.get('userId'))),
  }),
];
