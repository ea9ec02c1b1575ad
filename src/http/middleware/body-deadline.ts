/**
 * A request body must arrive within REQUEST_BODY_TIMEOUT_MS once its headers are in. A client that
 * trickles its body (a byte every few seconds) would otherwise hold a connection and a request for as
 * long as it likes; it gets 408 `request_timeout` and its connection (HTTP/1.1) or stream (HTTP/2)
 * is closed. The body is read here, once, and routes read it from Hono's cache. Responses are not
 * limited: a long answer streams for as long as it takes.
 */
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { createMiddleware } from 'hono/factory';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';

export const bodyDeadline = (timeoutMs: number) =>
  createMiddleware<AppEnv>(async (c, next) => {
    // In-process requests (tests, the library) have no socket; a body read whole already is done.
    const node = c.env as Partial<HttpBindings | Http2Bindings> | undefined;
    const incoming = node?.incoming;
    if (!incoming || incoming.complete || c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const body = c.req.arrayBuffer();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    // A body that fails (too large, connection lost) fails again where a route reads it.
    const outcome = await Promise.race([
      body.then(
        () => false,
        () => false,
      ),
      expired,
    ]);
    clearTimeout(timer);
    if (outcome) {
      const http1 = incoming.httpVersionMajor === 1;
      // HTTP/2 has no `connection` header: the stream is reset once the answer is out.
      if (!http1) node.outgoing?.once('finish', () => incoming.destroy());
      throw new ChatError(
        'request_timeout',
        `The request body did not arrive within ${formatSeconds(timeoutMs)} of its headers. Send the body at once; check the connection if it is slow.`,
        http1 ? { headers: { connection: 'close' } } : {},
      );
    }
    await next();
  });

const formatSeconds = (ms: number) => (ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`);
