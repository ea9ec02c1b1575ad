/** The caller's own data as a whole: export (GDPR access) and erasure. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-context.js';

export const meRoutes = new Hono<AppEnv>()
  .get('/export', async (c) => {
    const data = await c.get('services').chat.exportUser(c.get('userId'));
    c.header('content-disposition', 'attachment; filename="autochat-export.json"');
    return c.json(data);
  })
  .delete('/', async (c) => {
    await c.get('services').chat.eraseUser(c.get('userId'));
    c.get('log').info('user data erased');
    return c.body(null, 204);
  });
