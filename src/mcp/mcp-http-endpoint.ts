/**
 * `POST /mcp`: the agent-store MCP server over streamable HTTP, in stateless mode. Each request gets
 * its own server and transport bound to the authenticated caller, so any instance can answer any
 * request and no MCP session outlives its request. A batch holds at most MAX_MCP_BATCH messages.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import type { ChatRuntime as ChatService } from '../chat/chat-service.js';
import { ChatError } from '../errors.js';
import type { AppEnv } from '../http/app-context.js';
import { readJson } from '../http/validation.js';
import { createAgentStoreMcpServer } from './agent-store-mcp-server.js';

/** Messages per JSON-RPC batch: each may be a search, so a batch's cost is bounded by this. */
export const MAX_MCP_BATCH = 10;

export function createMcpEndpoint(chat: ChatService): Hono<AppEnv> {
  const endpoint = new Hono<AppEnv>();

  endpoint.post('/', async (c) => {
    // Read here, so that a body that is not JSON gets the API's error shape, and a batch is bounded
    // before any of its calls runs.
    const body = await readJson(c);
    if (Array.isArray(body) && body.length > MAX_MCP_BATCH) {
      throw new ChatError(
        'payload_too_large',
        `A JSON-RPC batch may hold at most ${MAX_MCP_BATCH} messages; this one has ${body.length}. Send them in smaller batches.`,
      );
    }
    const server = createAgentStoreMcpServer(chat, c.get('userId'));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      // With JSON responses, this resolves once every request in the body has its answer.
      return await transport.handleRequest(c.req.raw, { parsedBody: body });
    } finally {
      await server.close();
    }
  });

  // Stateless mode has no server-initiated stream to open (GET) and no session to end (DELETE).
  endpoint.on(['GET', 'DELETE'], '/', (c) => {
    c.header('allow', 'POST');
    throw new ChatError(
      'invalid_request',
      `${c.req.method} is not supported here: this MCP endpoint is stateless; send JSON-RPC with POST.`,
      {
        status: 405,
      },
    );
  });

  return endpoint;
}
