/**
 * Gives every request an id (taken from a sane `x-request-id`, or new), echoes it on the response,
 * and logs one line when the request ends: method, route, status, duration, user and session.
 */
import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { AppEnv, AppServices } from '../app-context.js';

export const requestContext = (services: AppServices) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    const started = performance.now();
    c.set('services', services);
    c.set('requestId', requestId);
    c.set('log', services.log.child({ requestId }));
    c.header('x-request-id', requestId);
    await next();
    c.header('x-request-id', requestId);
    const route = routePath(c) || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    services.metrics.requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    services.metrics.requestDuration.observe({ method: c.req.method, route }, seconds);
    const sessionId = c.req.param('id');
    c.get('log').info(
      {
        method: c.req.method,
        route,
        status: c.res.status,
        durationMs: Math.round(seconds * 1000 * 10) / 10,
        ...(sessionId ? { sessionId } : {}),
      },
      'request',
    );
  });
