/**
 * A tiny MCP server for tests: `echo_upper {text}` answers with the text upper-cased, `echo_fail`
 * always reports an error, `echo_slow {ms}` answers after a delay. Run it on stdio with
 * `node --import tsx test/support/echo-mcp-server.ts`, or serve it over streamable HTTP on a loopback
 * port with `serveEchoOverHttp()`.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';

export function createEchoMcpServer(): McpServer {
  const server = new McpServer({ name: 'echo', version: '1.0.0' });
  server.registerTool(
    'echo_upper',
    { description: 'Repeats the text in upper case.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text: text.toUpperCase() }] }),
  );
  server.registerTool('echo_fail', { description: 'Always fails.', inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: 'echo is broken today' }],
    isError: true,
  }));
  server.registerTool(
    'echo_slow',
    { description: 'Answers after `ms` milliseconds.', inputSchema: { ms: z.number().int().min(0) } },
    async ({ ms }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: 'text', text: 'slow' }] };
    },
  );
  return server;
}

/** Serves a fresh echo server per request (stateless streamable HTTP) on 127.0.0.1. */
export async function serveEchoOverHttp(): Promise<{ url: string; close(): Promise<void> }> {
  const httpServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const created = serve(
      {
        hostname: '127.0.0.1',
        port: 0,
        fetch: async (request) => {
          const server = createEchoMcpServer();
          const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
          await server.connect(transport);
          try {
            return await transport.handleRequest(request);
          } finally {
            await server.close();
          }
        },
      },
      () => resolve(created),
    );
  });
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in httpServer) httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createEchoMcpServer().connect(new StdioServerTransport());
}
