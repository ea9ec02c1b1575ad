#!/usr/bin/env node
/**
 * The `autochat` command: `serve` the API and web UI, `chat` in the terminal, `run` an agent and list
 * `executions`, `store import` a catalog file, `mcp` to serve the agent-store tools over stdio.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './config.js';

const HELP = `autochat — durable streaming chat for an agent platform

Usage:
  autochat serve [--port N] [--host H]        serve the API and web UI (same as npm start)
  autochat chat [-m TEXT] [--session ID] [--url URL] [--token JWT]
                                              chat in the terminal with a running server
  autochat run SLUG [--input NAME=VALUE …]    run a store agent on a running server, streaming its output
  autochat executions                         list your agent executions
  autochat store import FILE.json             load or update agents in the store catalog
  autochat mcp                                serve the agent-store tools as an MCP server on stdio
  autochat --help | --version

Configuration comes from environment variables; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(rest);
    case 'chat': {
      const { runChatCommand } = await import('./cli/chat-command.js');
      return runChatCommand(rest);
    }
    case 'run':
    case 'executions': {
      const { runRunCommand, runExecutionsCommand } = await import('./cli/run-command.js');
      const { processIo } = await import('./cli/chat-command.js');
      return command === 'run' ? runRunCommand(rest, processIo()) : runExecutionsCommand(rest, processIo());
    }
    case 'store':
      return storeCommand(rest);
    case 'mcp': {
      const { runMcpCommand } = await import('./cli/mcp-command.js');
      return runMcpCommand(rest);
    }
    case '--version':
    case '-v': {
      const { version } = await import('./version.js');
      console.log(version);
      return 0;
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(HELP);
      return 0;
    default:
      console.error(`Unknown command "${command}".\n\n${HELP}`);
      return 2;
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' } }, strict: true });
  const env = { ...process.env };
  if (values.port !== undefined) env.PORT = values.port;
  if (values.host !== undefined) env.HOST = values.host;
  await openDatabaseEarly(env);
  const { startServer, closeOnSignals } = await import('./http/server.js');
  const { createMcpEndpoint } = await import('./mcp/mcp-http-endpoint.js');
  const server = await startServer({ env, mcp: createMcpEndpoint });
  closeOnSignals(server);
  console.error(
    `autochat is listening on ${server.url}${server.chat.demo ? '  (offline demo model: set OPEN_ROUTER_API_KEY for a real one)' : ''}`,
  );
  return -1;
}

async function storeCommand(args: string[]): Promise<number> {
  const [action, file] = args;
  if (action !== 'import' || !file) {
    console.error('Usage: autochat store import FILE.json');
    return 2;
  }
  await openDatabaseEarly(process.env);
  const { readCatalogFile } = await import('./store/catalog.js');
  const { createChatService } = await import('./chat/chat-service.js');
  const parsed = await readCatalogFile(file);
  for (const problem of parsed.problems) {
    console.error(
      problem.index < 0
        ? `error: ${problem.reason}`
        : `entry ${problem.index}${problem.slug ? ` (${problem.slug})` : ''}: ${problem.reason}`,
    );
  }
  if (parsed.agents.length === 0) {
    console.error('No valid agents to import.');
    return 1;
  }
  const chat = await createChatService({ logLevel: 'warn' });
  try {
    await chat.agents.upsert(parsed.agents);
  } finally {
    await chat.close();
  }
  console.log(`Imported ${parsed.agents.length} agent(s)${parsed.problems.length ? `; skipped ${parsed.problems.length} invalid` : ''}.`);
  return parsed.problems.length > 0 ? 1 : 0;
}

/**
 * The embedded database opens on its own thread while the rest of the program loads (not for a
 * server that will refuse to start: single-user mode off loopback).
 */
async function openDatabaseEarly(env: Record<string, string | undefined>): Promise<void> {
  const { isLoopbackHost, loadConfig } = await import('./config.js');
  const { databaseUrl, dataDir, authJwtSecret, host } = loadConfig(env);
  if (databaseUrl || (!authJwtSecret && !isLoopbackHost(host))) return;
  (await import('./store/embedded-database.js')).openEmbeddedEarly(dataDir);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : `autochat: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
