/**
 * The agent store as an MCP server: the same tools the model uses in chat (same inputs, same
 * outputs) — the four store and library tools and the three that run agents — offered to any MCP
 * client and acting for one user, over stdio by `autochat mcp`, over streamable HTTP at `POST /mcp`.
 */
import { McpServer, type ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ChatRuntime as ChatService } from '../chat/chat-service.js';
import { ChatError } from '../errors.js';
import { agentSchema } from '../store/agents-repository.js';
import { addAgentToLibraryInput } from '../tools/add-agent-to-library.js';
import { findAgentInput } from '../tools/find-agent.js';
import { findLibraryAgentInput } from '../tools/find-library-agent.js';
import { getAgentDetailsInput } from '../tools/get-agent-details.js';
import { getRequiredSetupInfoInput } from '../tools/get-required-setup-info.js';
import { runAgentInput } from '../tools/run-agent.js';
import { executionView, viewAgentOutputInput } from '../tools/view-agent-output.js';
import { createToolSet } from '../tools/tool-set.js';
import { version } from '../version.js';
import { errorSummary } from '../logger.js';

/** How many matches a search returns, as for the model's tools. */
const SEARCH_LIMIT = 5;

const agentMatchOutput = agentSchema.extend({ score: z.number() });
const searchOutput = z.object({ agents: z.array(agentMatchOutput), query: z.string() });
const libraryEntryOutput = agentSchema.extend({ addedAt: z.string() });
const setupOutput = z.object({
  slug: z.string(),
  name: z.string(),
  inputs: z.looseObject({ type: z.literal('object') }),
  missing: z.array(z.string()),
});
const startedOutput = z.object({ executionId: z.string(), status: z.string() });
const executionOutput = z.object({
  executionId: z.string(),
  slug: z.string(),
  status: z.string(),
  output: z.string().optional(),
  error: z.string().optional(),
});

export function createAgentStoreMcpServer(chat: ChatService, userId: string): McpServer {
  const { agents } = chat;
  // The model's tools, for their descriptions: one wording for both audiences.
  const modelTools = createToolSet({ agents, userId, executions: chat.executions });
  const server = new McpServer({ name: 'autochat-agent-store', version });
  /** Each tool's call: its arguments checked against its input schema, then its handler, guarded. */
  const calls = new Map<string, (args: unknown) => Promise<CallToolResult>>();

  function define<Input extends z.ZodObject>(
    name: string,
    spec: { input: Input; output: z.ZodObject; run: (input: z.infer<Input>) => Promise<CallToolResult> },
  ) {
    const handler = guarded(name, spec.run);
    // TypeScript cannot resolve the SDK's callback type for a generic schema; it is this handler's.
    const callback = handler as unknown as ToolCallback<Input>;
    server.registerTool(name, { description: modelTools[name]!.description, inputSchema: spec.input, outputSchema: spec.output }, callback);
    calls.set(name, async (args) => {
      const parsed = spec.input.safeParse(args);
      if (parsed.success) return handler(parsed.data);
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return textError(`Invalid arguments for ${name}: ${where}${issue?.message ?? 'not valid'}.`);
    });
  }

  define('find_agent', {
    input: findAgentInput,
    output: searchOutput,
    run: async ({ query }) => jsonResult({ agents: await agents.search(query, SEARCH_LIMIT), query }),
  });
  define('get_agent_details', {
    input: getAgentDetailsInput,
    output: agentSchema,
    run: async ({ slug }) => {
      const agent = await agents.get(slug);
      return agent ? jsonResult(agent) : unknownSlug(slug);
    },
  });
  define('add_agent_to_library', {
    input: addAgentToLibraryInput,
    output: libraryEntryOutput,
    run: async ({ slug }) => {
      const entry = await agents.addToLibrary(userId, slug);
      return entry ? jsonResult(entry) : unknownSlug(slug);
    },
  });
  define('find_library_agent', {
    input: findLibraryAgentInput,
    output: searchOutput,
    run: async ({ query }) => jsonResult({ agents: await agents.searchLibrary(userId, query, SEARCH_LIMIT), query }),
  });

  define('get_required_setup_info', {
    input: getRequiredSetupInfoInput,
    output: setupOutput,
    run: async ({ slug, inputs }) =>
      refusalAsResult(async () => jsonResult(await chat.executions.requiredSetup(slug, inputs ?? {})), { slug }),
  });
  define('run_agent', {
    input: runAgentInput,
    output: startedOutput,
    run: async ({ slug, inputs }) => refusalAsResult(async () => jsonResult(await chat.executions.start(userId, slug, inputs)), { slug }),
  });
  define('view_agent_output', {
    input: viewAgentOutputInput,
    output: executionOutput,
    run: async ({ executionId }) =>
      refusalAsResult(async () => jsonResult(executionView(await chat.executions.get(executionId, userId))), { executionId }),
  });

  // McpServer lists the tools; calls are answered here, so that an unknown tool is a protocol error
  // (-32602, as the MCP specification asks) rather than a tool result, while invalid arguments and
  // failures stay tool results the caller (often a model) can read and act on.
  server.server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const call = calls.get(request.params.name);
    if (!call) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool "${request.params.name}". This server has: ${[...calls.keys()].join(', ')}.`,
      );
    }
    return call(request.params.arguments ?? {});
  });
  // The tools never change while a client is connected, and over HTTP no connection outlives its
  // request: no tools/list_changed notifications are promised. (McpServer registers listChanged:
  // true; undefined removes it from the initialize result.)
  server.server.registerCapabilities({ tools: { listChanged: undefined } });

  /** An unexpected failure (say, of the database) becomes a plain error result: no SQL or stack leaks out. */
  function guarded<Input>(tool: string, handler: (input: Input) => Promise<CallToolResult>) {
    return async (input: Input): Promise<CallToolResult> => {
      try {
        return await handler(input);
      } catch (error) {
        chat.log.error({ tool, userId, err: errorSummary(error) }, 'MCP tool call failed');
        return textError(`${tool} failed because of an unexpected error on the server. Please try again.`);
      }
    };
  }

  return server;
}

/** A refusal a caller can act on (unknown slug, missing inputs, a limit) as an error result in the tools' error shape. */
async function refusalAsResult(call: () => Promise<CallToolResult>, about: Record<string, unknown>): Promise<CallToolResult> {
  try {
    return await call();
  } catch (error) {
    if (!ChatError.isInstance(error) || error.code === 'internal' || error.code === 'unavailable') throw error;
    return { content: [{ type: 'text', text: JSON.stringify({ error: error.message, ...about }) }], isError: true };
  }
}

const textError = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

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
