/**
 * `POST /mcp`: the agent-store MCP server over streamable HTTP, in stateless mode. Each request gets
 * its own server and transport bound to the authenticated caller, so any instance can answer any
 * request and no MCP session outlives its request.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import type { ChatService } from '../chat/chat-service.js';
import { ChatError } from '../errors.js';
import type { AppEnv } from '../http/app-context.js';
import { createAgentStoreMcpServer } from './agent-store-mcp-server.js';

export function createMcpEndpoint(chat: ChatService): Hono<AppEnv> {
  const endpoint = new Hono<AppEnv>();

  endpoint.post('/', async (c) => {
    const server = createAgentStoreMcpServer(chat, c.get('userId'));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      // With JSON responses, this resolves once every request in the body has its answer.
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });

  // Stateless mode has no server-initiated stream to open (GET) and no session to end (DELETE).
  endpoint.on(['GET', 'DELETE'], '/', (c) => {
    c.header('allow', 'POST');
    throw new ChatError('invalid_request', `${c.req.method} is not supported here: this MCP endpoint is stateless; send JSON-RPC with POST.`, {
      status: 405,
    });
  });

  return endpoint;
}
