/**
 * Single-user local mode answers only requests addressed to a loopback name. A page that rebinds its
 * own DNS name to 127.0.0.1 reaches the port, but its requests still carry that name in `Host`, so
 * they are refused: no other site can read or change the local user's data through the browser.
 */
import { createMiddleware } from 'hono/factory';
import { isLoopbackHost } from '../../config.js';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { requestHost } from './request-host.js';

export const loopbackHostOnly = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const host = requestHost(c.req.raw);
    if (!host || !isLoopbackHost(host.hostname)) {
      throw new ChatError(
        'forbidden',
        'This server runs in single-user local mode and only answers requests addressed to 127.0.0.1, localhost or [::1]. Open it by one of those names, or set AUTH_JWT_SECRET.',
      );
    }
    await next();
  });
