/**
 * The agent store as an MCP server: the same four tools the model uses in chat (same inputs, same
 * outputs), offered to any MCP client and acting for one user — over stdio by `autochat mcp`, over
 * streamable HTTP at `POST /mcp`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ChatService } from '../chat/chat-service.js';
import { errorSummary } from '../chat/run.js';
import { agentSchema } from '../store/agents-repository.js';
import { addAgentToLibraryInput } from '../tools/add-agent-to-library.js';
import { findAgentInput } from '../tools/find-agent.js';
import { findLibraryAgentInput } from '../tools/find-library-agent.js';
import { getAgentDetailsInput } from '../tools/get-agent-details.js';
import { createToolSet } from '../tools/tool-set.js';
import { version } from '../version.js';

/** How many matches a search returns, as for the model's tools. */
const SEARCH_LIMIT = 5;

const agentMatchOutput = agentSchema.extend({ score: z.number() });
const searchOutput = z.object({ agents: z.array(agentMatchOutput), query: z.string() });
const libraryEntryOutput = agentSchema.extend({ addedAt: z.string() });

export function createAgentStoreMcpServer(chat: ChatService, userId: string): McpServer {
  const { agents } = chat;
  // The model's tools, for their descriptions: one wording for both audiences.
  const modelTools = createToolSet({ agents, userId });
  const server = new McpServer({ name: 'autochat-agent-store', version });

  server.registerTool(
    'find_agent',
    { description: modelTools.find_agent.description, inputSchema: findAgentInput, outputSchema: searchOutput },
    guarded('find_agent', async ({ query }) => jsonResult({ agents: await agents.search(query, SEARCH_LIMIT), query })),
  );

  server.registerTool(
    'get_agent_details',
    { description: modelTools.get_agent_details.description, inputSchema: getAgentDetailsInput, outputSchema: agentSchema },
    guarded('get_agent_details', async ({ slug }) => {
      const agent = await agents.get(slug);
      return agent ? jsonResult(agent) : unknownSlug(slug);
    }),
  );

  server.registerTool(
    'add_agent_to_library',
    { description: modelTools.add_agent_to_library.description, inputSchema: addAgentToLibraryInput, outputSchema: libraryEntryOutput },
    guarded('add_agent_to_library', async ({ slug }) => {
      const entry = await agents.addToLibrary(userId, slug);
      return entry ? jsonResult(entry) : unknownSlug(slug);
    }),
  );

  server.registerTool(
    'find_library_agent',
    { description: modelTools.find_library_agent.description, inputSchema: findLibraryAgentInput, outputSchema: searchOutput },
    guarded('find_library_agent', async ({ query }) => jsonResult({ agents: await agents.searchLibrary(userId, query, SEARCH_LIMIT), query })),
  );

  /** An unexpected failure (say, of the database) becomes a plain error result: no SQL or stack leaks out. */
  function guarded<Input>(tool: string, handler: (input: Input) => Promise<CallToolResult>) {
    return async (input: Input): Promise<CallToolResult> => {
      try {
        return await handler(input);
      } catch (error) {
        chat.log.error({ tool, userId, err: errorSummary(error) }, 'MCP tool call failed');
        return { content: [{ type: 'text', text: `${tool} failed because of an unexpected error on the server. Please try again.` }], isError: true };
      }
    };
  }

  return server;
}

/** Clients that read only `content` get the JSON as text; the others get it structured. */
function jsonResult(value: object): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: { ...value } };
}

/**
 * The same output the model's tools give for an unknown slug, flagged as an error. Text only: clients
 * check any structured content against the tool's output schema, errors included.
 */
function unknownSlug(slug: string): CallToolResult {
  const output = { error: `No agent with slug "${slug}" exists in the store.`, slug };
  return { content: [{ type: 'text', text: JSON.stringify(output) }], isError: true };
}
