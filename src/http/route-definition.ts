/**
 * An HTTP operation declared once: method and path, what it is for, who may call it, the zod shapes
 * of its input and of every response it gives, and its handler. The same definition registers the
 * Hono route (`registerRoutes`) and describes the operation in the OpenAPI document
 * (openapi-document.ts), so the two cannot drift apart.
 */
import type { Handler, Hono } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from './app-context.js';

/** The groups of operations in the document, with what each is about. */
export const API_TAGS = {
  sessions: 'Chat sessions: create, list, read, delete, feedback, export one.',
  stream: 'Answers as Server-Sent Events (the AI SDK UI message stream v1): send, resume, stop.',
  usage: 'Token budgets.',
  store: 'The agent store.',
  library: "The caller's agent library.",
  executions: 'Agents run for the caller: start, list, read, follow the output live, stop.',
  mcp: 'The agent-store tools over MCP (streamable HTTP, stateless).',
  privacy: "The caller's data as a whole: export and erasure.",
  operations: 'Health, readiness, metrics, this document and server facts. No token needed.',
  web: 'The web UI and its files. No token needed.',
} as const;

export type ApiTag = keyof typeof API_TAGS;

/**
 * The error responses the document describes once (openapi-document.ts). A route lists those it
 * gives; those every route of its kind gives are added for it: 403 and 500 to all, 401 to routes
 * that need a token, 408, 413 and 415 to routes that take a body.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 429 | 500 | 503;

/** Response headers the document knows; `x-request-id`, which every response has, is added to all. */
export type ResponseHeader =
  | 'x-run-id'
  | 'x-vercel-ai-ui-message-stream'
  | 'retry-after'
  | 'www-authenticate'
  | 'content-disposition'
  | 'content-security-policy'
  | 'allow';

export type ResponseDefinition = {
  description: string;
  /** The body's shape by media type; none means no body. */
  content?: Record<string, z.ZodType>;
  /** Headers this response always carries. */
  headers?: ResponseHeader[];
};

export type RouteDefinition = {
  method: 'get' | 'post' | 'put' | 'delete';
  /** The path as OpenAPI writes it, e.g. `/api/chat/sessions/{id}`. */
  path: string;
  /** The router's path, when it is not `path` with `{x}` written `:x` (a wildcard). */
  routerPath?: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: [ApiTag, ...ApiTag[]];
  /** `['bearer']`: a JWT when the server has AUTH_JWT_SECRET; `[]`: a public route. */
  security: [] | ['bearer'];
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: { schema: z.ZodType; required: boolean; description?: string };
  };
  /** The successful responses, and any error response of this route that differs from the shared one. */
  responses: Record<number, ResponseDefinition>;
  /** The shared error responses this route gives, beyond those added for its kind (see ErrorStatus). */
  errors?: ErrorStatus[];
  handler: Handler<AppEnv>;
};

/** Types a route definition (the identity: it exists so route files read as declarations). */
export const defineRoute = (route: RouteDefinition): RouteDefinition => route;

/** `{name}` path parameters written the router's way, `:name`. */
export const routerPathOf = (route: Pick<RouteDefinition, 'path' | 'routerPath'>): string =>
  route.routerPath ?? route.path.replace(/\{(\w+)\}/g, ':$1');

/**
 * Registers the routes' handlers on `app`. `security` is what the middleware registered before them
 * enforces; a route that says otherwise is refused here, so the document cannot misstate who may call it.
 */
export function registerRoutes(app: Hono<AppEnv>, routes: readonly RouteDefinition[], security: RouteDefinition['security']): void {
  for (const route of routes) {
    if (route.security.join() !== security.join()) {
      throw new Error(
        `${route.method.toUpperCase()} ${route.path} declares security [${route.security.join()}] but is registered behind [${security.join()}].`,
      );
    }
    app.on(route.method.toUpperCase(), routerPathOf(route), route.handler);
  }
}
