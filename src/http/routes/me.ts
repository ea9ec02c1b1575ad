/**
 * The caller's own data as a whole: export (GDPR access), streamed as it is read so that a large
 * export holds neither the server's memory nor anyone else's requests, and erasure.
 */
import { Hono } from 'hono';
import { errorSummary } from '../../chat/run.js';
import type { AppEnv } from '../app-context.js';

export const meRoutes = new Hono<AppEnv>()
  .get('/export', async (c) => {
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
  })
  .delete('/', async (c) => {
    await c.get('services').chat.eraseUser(c.get('userId'));
    c.get('log').info('user data erased');
    return c.body(null, 204);
  });
