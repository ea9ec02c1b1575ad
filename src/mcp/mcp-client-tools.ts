/**
 * Tools of external MCP servers (MCP_SERVERS), offered to the model beside the built-in ones as
 * `<server>__<tool>`. A server that cannot be reached or listed in time is left out with a warning:
 * chat keeps working without its tools. The model's inputs are checked against each tool's schema.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType } from '@modelcontextprotocol/sdk/validation/types.js';
import { jsonSchema, tool, type JSONSchema7, type ToolSet } from 'ai';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { version } from '../version.js';

export type McpServerSpec = Config['mcpServers'][string];
export type McpTools = { tools: ToolSet; close(): Promise<void> };
export type McpToolsOptions = {
  /** Longest wait for a server to connect and list its tools (default 5000 ms). */
  timeoutMs?: number;
  /** Longest wait for one tool call (default 25000 ms: within the run's own tool time limit, so the call is cancelled cleanly). */
  callTimeoutMs?: number;
};

type McpTool = Awaited<ReturnType<Client['listTools']>>['tools'][number];
type CallResult = Awaited<ReturnType<Client['callTool']>>;

const MAX_TOOL_NAME = 64;
const MAX_ERROR_CHARS = 300;

export async function loadMcpTools(servers: Config['mcpServers'], log: Logger, options: McpToolsOptions = {}): Promise<McpTools> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const callTimeoutMs = options.callTimeoutMs ?? 25_000;

  const connected = await Promise.all(
    Object.entries(servers).map(async ([server, spec]) => {
      try {
        return { server, ...(await connect(spec, timeoutMs)) };
      } catch (error) {
        log.warn({ server, reason: shortMessage(error) }, 'MCP server unavailable; its tools are left out');
        return undefined;
      }
    }),
  );

  const tools: ToolSet = {};
  const clients: Client[] = [];
  const validator = new AjvJsonSchemaValidator();
  for (const entry of connected) {
    if (!entry) continue;
    clients.push(entry.client);
    for (const mcpTool of entry.tools) {
      const name = toolName(entry.server, mcpTool.name);
      if (name in tools) {
        log.warn({ server: entry.server, tool: name }, 'MCP tool name taken by another tool; this one is left out');
        continue;
      }
      const check = inputCheck(validator, mcpTool);
      if (!check)
        log.warn({ server: entry.server, tool: name }, "MCP tool's input schema cannot be compiled; its inputs are passed on unchecked");
      tools[name] = modelTool(entry.client, entry.server, mcpTool, callTimeoutMs, check);
    }
    log.info({ server: entry.server, tools: entry.tools.length }, 'MCP server connected');
  }

  return {
    tools,
    async close() {
      await Promise.allSettled(clients.map((client) => client.close()));
    },
  };
}

/** The name the model sees: `<server>__<tool>`, in the characters and length providers accept. */
export function toolName(server: string, tool: string): string {
  return `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, MAX_TOOL_NAME);
}

async function connect(spec: McpServerSpec, timeoutMs: number): Promise<{ client: Client; tools: McpTool[] }> {
  const client = new Client({ name: 'autochat', version });
  const transport = transportFor(spec);
  // One deadline for the whole exchange (connecting and every page of the tool list), not per request.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    await client.connect(transport, { timeout: timeoutMs, signal });
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs, signal });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return { client, tools };
  } catch (error) {
    // Ends the child process of a stdio server, or the HTTP connection.
    await client.close().catch(() => undefined);
    await transport.close().catch(() => undefined);
    throw signal.aborted ? new Error(`no answer within ${timeoutMs} ms`, { cause: error }) : error;
  }
}

function transportFor(spec: McpServerSpec): Transport {
  if (typeof spec === 'string') {
    if (/^https?:\/\//i.test(spec)) return new StreamableHTTPClientTransport(new URL(spec));
    const [command, ...args] = splitCommandLine(spec);
    if (!command) throw new Error('empty command line');
    return new StdioClientTransport({ command, args });
  }
  if ('url' in spec) return new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers } });
  return new StdioClientTransport({ command: spec.command, args: spec.args ?? [], env: spec.env });
}

/** Splits a command line on whitespace; quotes group words (`node -e "process.exit(1)"`). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (char === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

type InputCheck = (value: unknown) => { success: true; value: Record<string, unknown> } | { success: false; error: Error };

/**
 * Checks a model's input against the tool's own JSON Schema, so that invalid input is reported as
 * `tool-input-error` (and shown to the model) like that of a built-in tool, instead of being sent to
 * the server. Undefined when the schema cannot be compiled.
 */
function inputCheck(validator: AjvJsonSchemaValidator, mcpTool: McpTool): InputCheck | undefined {
  let validate: ReturnType<AjvJsonSchemaValidator['getValidator']>;
  try {
    validate = validator.getValidator({ ...mcpTool.inputSchema, type: 'object' } as JsonSchemaType);
  } catch {
    return undefined;
  }
  return (value) => {
    const result = validate(value);
    return result.valid
      ? { success: true, value: result.data as Record<string, unknown> }
      : {
          success: false,
          error: new Error(`the input does not match the tool's schema: ${result.errorMessage}`.slice(0, MAX_ERROR_CHARS)),
        };
  };
}

function modelTool(client: Client, server: string, mcpTool: McpTool, callTimeoutMs: number, check: InputCheck | undefined) {
  // Providers want an object schema with `properties`, even for a tool without inputs.
  const schema: JSONSchema7 = { ...(mcpTool.inputSchema as JSONSchema7), type: 'object' };
  schema.properties ??= {};
  return tool({
    description: mcpTool.description ?? mcpTool.title ?? `${mcpTool.name} (from the ${server} MCP server)`,
    inputSchema: jsonSchema<Record<string, unknown>>(schema, check ? { validate: check } : undefined),
    execute: async (input, { abortSignal }) => {
      let result: CallResult;
      try {
        result = await client.callTool({ name: mcpTool.name, arguments: input }, undefined, {
          timeout: callTimeoutMs,
          signal: abortSignal,
        });
      } catch (error) {
        throw new Error(shortMessage(error));
      }
      // The run names the tool when it reports the failure; the message says what went wrong.
      if (result.isError) throw new Error((textOf(result) || `the ${server} MCP server reported an error`).slice(0, MAX_ERROR_CHARS));
      return result.structuredContent ?? textOf(result);
    },
  });
}

/** The text blocks of a result, joined; other kinds of content are named, not inlined. */
function textOf(result: CallResult): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('\n');
}

function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').slice(0, MAX_ERROR_CHARS);
}
