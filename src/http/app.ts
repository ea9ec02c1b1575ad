/**
 * The HTTP application: middleware (request id and access log, security headers, loopback host in
 * local mode, CORS, same-origin writes, JSON bodies, body limit and deadline, auth), the route
 * definitions of docs/api.md — which also make the OpenAPI document — and one error handler for the
 * one error shape.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { ChatError } from '../errors.js';
import type { AppEnv, AppServices } from './app-context.js';
import { allowedOriginForWrites } from './middleware/allowed-origin.js';
import { authenticate } from './middleware/auth.js';
import { bodyDeadline } from './middleware/body-deadline.js';
import { toErrorResponse } from './middleware/errors.js';
import { jsonBodiesOnly } from './middleware/json-bodies.js';
import { loopbackHostOnly } from './middleware/loopback-host.js';
import { requestContext } from './middleware/request-context.js';
import { openApiDocument, type OpenApiDocument } from './openapi-document.js';
import { registerRoutes } from './route-definition.js';
import { aiSdkChatRoutes } from './routes/ai-sdk-chat.js';
import { approvalRoutes } from './routes/approvals.js';
import { executionRoutes } from './routes/executions.js';
import { feedbackRoutes } from './routes/feedback.js';
import { libraryRoutes } from './routes/library.js';
import { mcpRoutes } from './routes/mcp.js';
import { meRoutes } from './routes/me.js';
import { operationsRoutes } from './routes/operations.js';
import { sessionExportRoutes } from './routes/session-export.js';
import { sessionRoutes } from './routes/sessions.js';
import { storeRoutes } from './routes/store.js';
import { streamRoutes } from './routes/stream.js';
import { usageRoutes } from './routes/usage.js';
import { webRoutes } from './routes/web.js';

export type AppOptions = {
  tls?: boolean;
  /** The MCP endpoint served at `/mcp` (src/mcp), when wanted. */
  mcp?: Hono<AppEnv>;
  /** Where the built web UI is (default: beside the server code); `false` serves none. */
  webRoot?: string | false;
};

export function createApp(services: AppServices, options: AppOptions = {}) {
  const { config } = services;
  const app = new Hono<AppEnv>();
  // Bodies are JSON of one message at most; the envelope allows for the useChat body's history.
  const maxBodyBytes = Math.max(64 * 1024, config.limits.maxMessageChars * 8 + 16 * 1024);

  app.use(requestContext(services));
  // Hono's middleware, limited to the headers autochat has always sent: its other defaults (the
  // cross-origin resource and opener policies among them) would change what API clients allowed by
  // CORS_ORIGINS and pages that link here get. The web page's CSP is set by its route.
  app.use(
    secureHeaders({
      xContentTypeOptions: true,
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      strictTransportSecurity: options.tls ? 'max-age=31536000; includeSubDomains' : false,
      crossOriginResourcePolicy: false,
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  );
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

  let document: OpenApiDocument | undefined;
  const describe = () => (document ??= openApiDocument(routes, { version: services.version, authRequired: Boolean(config.authJwtSecret) }));
  const publicRoutes = operationsRoutes(describe);
  const apiRoutes = [
    ...sessionRoutes,
    ...streamRoutes,
    ...feedbackRoutes,
    ...approvalRoutes,
    ...sessionExportRoutes,
    ...aiSdkChatRoutes,
    ...usageRoutes,
    ...storeRoutes,
    ...libraryRoutes,
    ...executionRoutes,
    ...meRoutes,
  ];
  const mcp = options.mcp ? mcpRoutes(options.mcp) : [];
  const web = webRoutes(options.webRoot);
  const routes = [...publicRoutes, ...apiRoutes, ...mcp, ...web];

  // Order matters: the public routes answer before the token check on /api/* is reached.
  registerRoutes(app, publicRoutes, []);
  app.use('/api/*', authenticate(config.authJwtSecret));
  registerRoutes(app, apiRoutes, ['bearer']);
  if (mcp.length > 0) {
    app.use('/mcp', authenticate(config.authJwtSecret));
    registerRoutes(app, mcp, ['bearer']);
  }
  registerRoutes(app, web, []);

  app.notFound((c) => {
    // The path is echoed only when it is plain text of a sane length.
    const path = c.req.path.length <= 200 && !/[\p{Cc}\uD800-\uDFFF]/u.test(c.req.path) ? ` ${c.req.path}` : '';
    return toErrorResponse(c, new ChatError('not_found', `No route ${c.req.method}${path}.`));
  });
  app.onError((error, c) => toErrorResponse(c, error));
  return app;
}
