/**
 * The HTTP application: middleware (request id and access log, security headers, loopback host in
 * local mode, CORS, same-origin writes, JSON bodies, body limit and deadline, auth) and the route
 * groups of CONTRACT §4, with one error handler for the one error shape.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { ChatError } from '../errors.js';
import type { AppEnv, AppServices } from './app-context.js';
import { allowedOriginForWrites } from './middleware/allowed-origin.js';
import { authenticate } from './middleware/auth.js';
import { bodyDeadline } from './middleware/body-deadline.js';
import { toErrorResponse } from './middleware/errors.js';
import { jsonBodiesOnly } from './middleware/json-bodies.js';
import { loopbackHostOnly } from './middleware/loopback-host.js';
import { requestContext } from './middleware/request-context.js';
import { openApiDocument } from './openapi.js';
import { aiSdkChatRoutes } from './routes/ai-sdk-chat.js';
import { feedbackRoutes } from './routes/feedback.js';
import { libraryRoutes } from './routes/library.js';
import { meRoutes } from './routes/me.js';
import { infoRoute, operationsRoutes } from './routes/operations.js';
import { sessionExportRoutes } from './routes/session-export.js';
import { sessionRoutes } from './routes/sessions.js';
import { storeRoutes } from './routes/store.js';
import { streamRoutes } from './routes/stream.js';
import { usageRoutes } from './routes/usage.js';
import { webRoutes } from './routes/web.js';

export type AppOptions = { tls?: boolean; mcp?: Hono<AppEnv> };

export function createApp(services: AppServices, options: AppOptions = {}) {
  const { config } = services.chat;
  const app = new Hono<AppEnv>();
  // Bodies are JSON of one message at most; the envelope allows for the useChat body's history.
  const maxBodyBytes = Math.max(64 * 1024, config.limits.maxMessageChars * 8 + 16 * 1024);

  app.use(requestContext(services));
  app.use(async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
    if (options.tls) c.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  });
  // Local mode has no credentials: being addressed by a loopback name is what keeps other sites out.
  if (!config.authJwtSecret) app.use(loopbackHostOnly());
  if (config.corsOrigins.length > 0) {
    const allowOrigins = cors({
      origin: config.corsOrigins,
      allowHeaders: ['authorization', 'content-type', 'x-request-id', 'mcp-protocol-version', 'mcp-session-id'],
      exposeHeaders: ['x-request-id', 'x-run-id', 'retry-after', 'x-vercel-ai-ui-message-stream'],
      maxAge: 600,
    });
    app.use('/api/*', allowOrigins);
    app.use('/mcp', allowOrigins);
  }
  app.use(allowedOriginForWrites(config.corsOrigins));
  app.use(jsonBodiesOnly());
  const tooLarge = () => {
    throw new ChatError('payload_too_large', `The request body is larger than ${Math.round(maxBodyBytes / 1024)} KiB.`);
  };
  const streamedBodyLimit = bodyLimit({ maxSize: maxBodyBytes, onError: tooLarge });
  app.use('*', async (c, next) => {
    // A declared length is checked as it is; only a streamed (chunked) body is read under the limit
    // here. (Hono's bodyLimit builds a web Request for every request to look, which costs each
    // request ≈ 0.1 ms and the memory of a web stream.)
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(length) > maxBodyBytes) tooLarge();
      return next();
    }
    return streamedBodyLimit(c, next);
  });

  app.use(bodyDeadline(config.limits.bodyTimeoutMs));

  app.route('/', operationsRoutes);
  app.get('/openapi.json', (c) => c.json(openApiDocument(services.version)));
  app.route('/api/info', infoRoute);

  const api = new Hono<AppEnv>();
  api.use(authenticate(config.authJwtSecret));
  api.route('/chat/sessions', sessionRoutes);
  api.route('/chat/sessions', streamRoutes);
  api.route('/chat/sessions', feedbackRoutes);
  api.route('/chat/sessions', sessionExportRoutes);
  api.route('/chat', aiSdkChatRoutes);
  api.route('/usage', usageRoutes);
  api.route('/store', storeRoutes);
  api.route('/library', libraryRoutes);
  api.route('/me', meRoutes);
  app.route('/api', api);
  if (options.mcp) {
    app.use('/mcp', authenticate(config.authJwtSecret));
    app.route('/mcp', options.mcp);
  }
  app.route('/', webRoutes());

  app.notFound((c) => {
    // The path is echoed only when it is plain text of a sane length.
    const path = c.req.path.length <= 200 && !/[\p{Cc}\uD800-\uDFFF]/u.test(c.req.path) ? ` ${c.req.path}` : '';
    return toErrorResponse(c, new ChatError('not_found', `No route ${c.req.method}${path}.`));
  });
  app.onError((error, c) => toErrorResponse(c, error));
  return app;
}
