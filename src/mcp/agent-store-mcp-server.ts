/**
 * The agent store as an MCP server: the same tools the model uses in chat (same inputs, same
 * outputs) — the four store and library tools and the three that run agents — offered to any MCP
 * client and acting for one user, over stdio by `autochat mcp`, over streamable HTTP at `POST /mcp`.
 */
import { McpServer, type ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ChatRuntime as ChatService } from '../chat/chat-service.js';
import { agentSchema } from '../store/agents-repository.js';
import { addAgentToLibraryInput } from '../tools/add-agent-to-library.js';
import { findAgentInput } from '../tools/find-agent.js';
import { findLibraryAgentInput } from '../tools/find-library-agent.js';
import { getAgentDetailsInput } from '../tools/get-agent-details.js';
import { getRequiredSetupInfoInput } from '../tools/get-required-setup-info.js';
import { runAgentInput } from '../tools/run-agent.js';
import { isToolRefusal } from '../tools/tool-errors.js';
import { agentTools } from '../tools/tool-set.js';
import { viewAgentOutputInput } from '../tools/view-agent-output.js';
import { version } from '../version.js';
import { errorSummary } from '../logger.js';

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
  // The model's own tools: their descriptions, and their `execute`, which is each tool's one body.
  const tools = agentTools({ agents: chat.agents, userId, executions: chat.executions });
  const server = new McpServer({ name: 'autochat-agent-store', version });
  /** Each tool's call: its arguments checked against its input schema, then the tool, guarded. */
  const calls = new Map<string, (args: unknown) => Promise<CallToolResult>>();

  function define(name: string, spec: { input: z.ZodObject; output: z.ZodObject }) {
    const { description, execute } = tools[name]!;
    const handler = guarded(name, async (input: unknown) => {
      // The tools return their output at once (no stream); a refusal is one the caller can act on.
      const output: unknown = await execute!(input as never, { toolCallId: `mcp-${name}`, messages: [] });
      return isToolRefusal(output) ? refusalResult(output) : jsonResult(output as object);
    });
    // TypeScript cannot resolve the SDK's callback type for a generic schema; it is this handler's.
    const callback = handler as unknown as ToolCallback<z.ZodObject>;
    server.registerTool(name, { description, inputSchema: spec.input, outputSchema: spec.output }, callback);
    calls.set(name, async (args) => {
      const parsed = spec.input.safeParse(args);
      if (parsed.success) return handler(parsed.data);
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return textError(`Invalid arguments for ${name}: ${where}${issue?.message ?? 'not valid'}.`);
    });
  }

  define('find_agent', { input: findAgentInput, output: searchOutput });
  define('get_agent_details', { input: getAgentDetailsInput, output: agentSchema });
  define('add_agent_to_library', { input: addAgentToLibraryInput, output: libraryEntryOutput });
  define('find_library_agent', { input: findLibraryAgentInput, output: searchOutput });
  define('get_required_setup_info', { input: getRequiredSetupInfoInput, output: setupOutput });
  define('run_agent', { input: runAgentInput, output: startedOutput });
  define('view_agent_output', { input: viewAgentOutputInput, output: executionOutput });

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

/**
 * A refusal (unknown slug, missing inputs, a limit) in the tools' own words, flagged as an error. Text
 * only: clients check any structured content against the tool's output schema, errors included.
 */
const refusalResult = (refusal: object): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(refusal) }], isError: true });

const textError = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

/** Clients that read only `content` get the JSON as text; the others get it structured. */
function jsonResult(value: object): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: { ...value } };
}
