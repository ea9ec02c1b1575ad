/**
 * The caller's own data as a whole: export (GDPR access), streamed as it is read so that a large
 * export holds neither the server's memory nor anyone else's requests, and erasure.
 */
import { defineRoute } from '../route-definition.js';
import { executionResponse } from '../execution-schemas.js';
import { userExportResponse } from '../schemas.js';
import { errorSummary } from '../../logger.js';

/** The export, with the caller's agent executions (routes/executions.ts) after the library. */
const exportResponse = userExportResponse.extend({ executions: executionResponse.array() });

export const meRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/me/export',
    operationId: 'exportMyData',
    summary: 'Every session, message, usage row, feedback and library entry of the caller',
    tags: ['privacy'],
    security: ['bearer'],
    responses: {
      200: {
        description: 'The export, as an attachment.',
        content: { 'application/json': exportResponse },
        headers: ['content-disposition'],
      },
    },
    errors: [503],
    handler: async (c) => {
      const pieces = c.get('services').chat.exportUser(c.get('userId'));
      // The first piece comes after the first statement: a database that is down fails here, cleanly.
      const first = await pieces.next();
      const encoder = new TextEncoder();
      let pending: IteratorResult<string> | undefined = first;
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            try {
              const next = pending ?? (await pieces.next());
              pending = undefined;
              if (next.done) controller.close();
              else controller.enqueue(encoder.encode(next.value));
            } catch (error) {
              // Headers are sent: the response is cut short, so the client sees an error, not a partial document.
              c.get('log').error({ err: errorSummary(error) }, 'export failed');
              controller.error(error);
            }
          },
          async cancel() {
            await pieces.return(undefined);
          },
        },
        { highWaterMark: 0 },
      );
      return c.body(body, 200, {
        'content-type': 'application/json; charset=UTF-8',
        'content-disposition': 'attachment; filename="autochat-export.json"',
      });
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
