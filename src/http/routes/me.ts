/** The caller's own data as a whole: export (GDPR access) and erasure. */
import { defineRoute } from '../route-definition.js';
import { userExportResponse } from '../schemas.js';

export const meRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/me/export',
    operationId: 'exportMyData',
    summary: 'Every session, message, usage row, feedback and library entry of the caller',
    tags: ['privacy'],
    security: ['bearer'],
    responses: {
      200: { description: 'The export, as an attachment.', content: { 'application/json': userExportResponse }, headers: ['content-disposition'] },
    },
    errors: [503],
    handler: async (c) => {
      const data = await c.get('services').chat.exportUser(c.get('userId'));
      c.header('content-disposition', 'attachment; filename="autochat-export.json"');
      return c.json(data);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/me',
    operationId: 'eraseMyData',
    summary: "Erase all of the caller's data",
    tags: ['privacy'],
    security: ['bearer'],
    responses: { 204: { description: 'Erased.' } },
    errors: [503],
    handler: async (c) => {
      await c.get('services').chat.eraseUser(c.get('userId'));
      c.get('log').info('user data erased');
      return c.body(null, 204);
    },
  }),
];
