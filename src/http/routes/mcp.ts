/**
 * `/mcp`: the agent-store tools over MCP (streamable HTTP, stateless), described here. The endpoint
 * itself is built outside the HTTP core (src/mcp), which has no MCP dependency, as a Hono app; its
 * handlers are taken from it by method, and a method it serves that is not described here is refused
 * at start, so the document lists exactly what is served.
 */
import type { Handler, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-context.js';
import { defineRoute } from '../route-definition.js';
import { errorResponse, jsonRpcError, mcpRequestBody, mcpResponse } from '../schemas.js';

const DESCRIBED = ['POST', 'GET', 'DELETE'];

export function mcpRoutes(endpoint: Hono<AppEnv>) {
  const undescribed = endpoint.routes.filter((route) => route.path !== '/' || !DESCRIBED.includes(route.method));
  if (undescribed.length > 0) {
    throw new Error(
      `The MCP endpoint serves ${undescribed.map((route) => `${route.method} ${route.path}`).join(', ')}, which src/http/routes/mcp.ts does not describe.`,
    );
  }
  const handlerOf = (method: string): Handler<AppEnv> => {
    const handlers = endpoint.routes.filter((route) => route.method === method);
    if (handlers.length !== 1) throw new Error(`The MCP endpoint must answer ${method} /mcp with exactly one handler.`);
    return handlers[0]!.handler;
  };
  const notAllowed = {
    description:
      'Not supported: the endpoint is stateless, with no server-initiated stream to open and no session to end (invalid_request).',
    content: { 'application/json': errorResponse(['invalid_request']) },
    headers: ['allow' as const],
  };
  return [
    defineRoute({
      method: 'post',
      path: '/mcp',
      operationId: 'callMcp',
      summary: 'MCP over streamable HTTP: the agent-store and library tools, acting for the caller',
      description:
        'Stateless: each request stands alone. Send `accept: application/json, text/event-stream`. A failing tool or invalid arguments give a result with `isError: true`; an unknown tool a JSON-RPC error.',
      tags: ['mcp'],
      security: ['bearer'],
      request: { body: { schema: mcpRequestBody, required: true } },
      responses: {
        200: { description: 'The JSON-RPC responses: one object, or an array for a batch.', content: { 'application/json': mcpResponse } },
        202: { description: 'Only notifications were sent: accepted, nothing to answer.' },
        400: {
          description:
            'The body is not JSON (invalid_request, in the API’s error shape) or not JSON-RPC (a JSON-RPC error: -32700, -32600).',
          content: { 'application/json': z.union([errorResponse(['invalid_request']), jsonRpcError]) },
        },
        406: {
          description: 'The `accept` header does not list both `application/json` and `text/event-stream` (a JSON-RPC error).',
          content: { 'application/json': jsonRpcError },
        },
      },
      errors: [413],
      handler: handlerOf('POST'),
    }),
    defineRoute({
      method: 'get',
      path: '/mcp',
      operationId: 'openMcpStream',
      summary: 'Not supported: no server-initiated stream (405)',
      tags: ['mcp'],
      security: ['bearer'],
      responses: { 405: notAllowed },
      handler: handlerOf('GET'),
    }),
    defineRoute({
      method: 'delete',
      path: '/mcp',
      operationId: 'endMcpSession',
      summary: 'Not supported: no MCP session to end (405)',
      tags: ['mcp'],
      security: ['bearer'],
      responses: { 405: notAllowed },
      handler: handlerOf('DELETE'),
    }),
  ];
}
