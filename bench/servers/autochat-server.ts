/**
 * autochat as a bench server process: configured entirely from the environment, exactly like
 * `autochat serve` (MCP endpoint included); reports its URL to the bench over IPC. SIGTERM closes it
 * gracefully (which also lets `--cpu-prof` write its profile).
 */
import { startServer } from '../../src/http/server.js';
import { createMcpEndpoint } from '../../src/mcp/mcp-http-endpoint.js';
import { announce } from '../support/processes.js';

const server = await startServer({ mcp: createMcpEndpoint });
announce(server.url);
const stop = () => {
  server.close(2000).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
