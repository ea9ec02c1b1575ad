/**
 * `autochat mcp`: serves the agent-store tools as an MCP server on stdin/stdout, acting for the local
 * user (or `--user ID`). Stdout is the MCP channel and carries nothing else: logs go to stderr.
 */
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { pino } from 'pino';
import { createChatService, LOCAL_USER } from '../chat/chat-service.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createAgentStoreMcpServer } from '../mcp/agent-store-mcp-server.js';

export async function runMcpCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' } }, strict: true });
  const userId = values.user?.trim() || LOCAL_USER;

  const logger = createLogger(loadConfig().logLevel, pino.destination({ fd: 2, sync: true }));
  // No chat runs here, so external MCP servers (MCP_SERVERS) are not started: `extraTools` is set.
  const chat = await createChatService({ logger, extraTools: {} });
  const server = createAgentStoreMcpServer(chat, userId);
  const transport = new StdioServerTransport();

  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  let closing: Promise<void> | undefined;
  const shutDown = (reason: string) => {
    closing ??= (async () => {
      logger.info({ reason }, 'MCP server stopping');
      await server.close().catch(() => undefined);
      await chat.close();
    })();
    return closing;
  };
  process.stdin.once('end', () => void shutDown('stdin ended'));
  process.once('SIGINT', () => void shutDown('SIGINT'));
  process.once('SIGTERM', () => void shutDown('SIGTERM'));

  await server.connect(transport);
  logger.info({ userId }, 'serving the agent-store tools over MCP on stdio');

  await closed;
  await shutDown('transport closed');
  return 0;
}
