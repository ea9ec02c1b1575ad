/**
 * MCP in both directions: tools of external MCP servers (stdio and streamable HTTP) used by the model
 * in a chat turn, servers that are down left out without breaking chat, and autochat's own agent-store
 * MCP server driven by the SDK's client over HTTP (`POST /mcp`, with auth) and over stdio (`autochat mcp`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ToolSet, UIMessageChunk } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChatService, type ChatRuntime as ChatService } from '../src/chat/chat-service.js';
import type { Config } from '../src/config.js';
import { signJwt } from '../src/http/middleware/jwt.js';
import { createLogger } from '../src/logger.js';
import { loadMcpTools, splitCommandLine, toolName, type McpServerSpec } from '../src/mcp/mcp-client-tools.js';
import { createMcpEndpoint } from '../src/mcp/mcp-http-endpoint.js';
import { serveEchoOverHttp } from './support/echo-mcp-server.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';

const ECHO_STDIO = 'node --import tsx test/support/echo-mcp-server.ts';
const AGENT_STORE_TOOLS = [
  'add_agent_to_library',
  'find_agent',
  'find_library_agent',
  'get_agent_details',
  'get_required_setup_info',
  'run_agent',
  'view_agent_output',
];

type ToolResult = Awaited<ReturnType<Client['callTool']>>;

async function collect(events: AsyncIterable<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const event of events) chunks.push(event);
  return chunks;
}

const textOf = (chunks: UIMessageChunk[]) => chunks.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');

/** A URL on which nothing listens. */
async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/mcp`;
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('info', sink), lines };
}

function runTool(tools: ToolSet, name: string, input: unknown): Promise<unknown> {
  const execute = tools[name]?.execute;
  if (!execute) throw new Error(`no tool ${name}`);
  return Promise.resolve(execute(input, { toolCallId: 'test-call', messages: [] }) as PromiseLike<unknown>);
}

function structured<T>(result: ToolResult): T {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const text = (result.content as { type: string; text?: string }[])[0]?.text;
  // The same JSON travels as text (for clients that only read content) and as structured content.
  expect(JSON.parse(text ?? 'null')).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

describe('external MCP servers as model tools', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let echoHttp: Awaited<ReturnType<typeof serveEchoOverHttp>>;

  beforeAll(async () => {
    echoHttp = await serveEchoOverHttp();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await echoHttp?.close();
  });

  async function serviceWith(mcpServers: Config['mcpServers']): Promise<{ chat: ChatService; upstream: FakeUpstream }> {
    const upstream = await startFakeUpstream();
    cleanups.push(() => upstream.close());
    // These tests are about calling MCP tools; asking for approval first is tested in tool-approvals.test.ts.
    const chat = await createChatService(
      upstreamOptions(upstream.url, { dataDir: 'memory://', mcpServers, toolApproval: { exempt: ['*'] } }),
    );
    cleanups.push(() => chat.close());
    return { chat, upstream };
  }

  const echoSpecs: [string, () => McpServerSpec][] = [
    ['stdio', () => ECHO_STDIO],
    ['streamable HTTP', () => ({ url: echoHttp.url })],
  ];
  it.each(echoSpecs)('lets the model call a tool of an MCP server over %s, and stores the call', async (_transport, spec) => {
    const { chat, upstream } = await serviceWith({ echo: spec() });
    upstream.enqueue(callTool('echo__echo_upper', { text: 'hi' }), say('done'));

    const session = await chat.createChatSession('local');
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'Shout hi back at me', { userId: 'local' }));

    expect(chunks.map((chunk) => chunk.type)).not.toContain('error');
    expect(chunks).toContainEqual(
      expect.objectContaining({ type: 'tool-input-available', toolName: 'echo__echo_upper', input: { text: 'hi' } }),
    );
    expect(chunks).toContainEqual(expect.objectContaining({ type: 'tool-output-available', output: 'HI' }));
    expect(textOf(chunks)).toBe('done');
    const offered = (upstream.requests[0]!.body.tools as { function: { name: string } }[]).map((entry) => entry.function.name);
    expect(offered).toEqual(expect.arrayContaining(['echo__echo_upper', 'echo__echo_fail', 'find_agent']));
    // The tool result went back to the model.
    expect(JSON.stringify(upstream.requests.filter((request) => request.body.stream === true)[1]!.body.messages.at(-1))).toContain('HI');

    const stored = await chat.getChatSession(session.sessionId, 'local');
    const answer = stored!.messages.at(-1)!;
    expect(answer.role).toBe('assistant');
    expect(answer.parts).toContainEqual(
      expect.objectContaining({ type: 'tool-echo__echo_upper', state: 'output-available', input: { text: 'hi' }, output: 'HI' }),
    );
  });

  it('reports a failing MCP tool as a tool error and lets the model carry on', async () => {
    const { chat, upstream } = await serviceWith({ echo: ECHO_STDIO });
    upstream.enqueue(callTool('echo__echo_fail', {}), say('sorry about that'));

    const session = await chat.createChatSession('local');
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'Try the broken tool', { userId: 'local' }));

    expect(chunks.map((chunk) => chunk.type)).not.toContain('error');
    expect(chunks).toContainEqual(
      expect.objectContaining({ type: 'tool-output-error', errorText: expect.stringContaining('echo is broken today') }),
    );
    expect(textOf(chunks)).toBe('sorry about that');
    expect(chunks.at(-1)!.type).toBe('finish');
  });

  it.each(echoSpecs)(
    'reports invalid input to an MCP tool over %s as tool-input-error, as for a built-in tool, and the model carries on',
    async (_transport, spec) => {
      const { chat, upstream } = await serviceWith({ echo: spec() });
      upstream.enqueue(
        callTool('echo__echo_upper', { text: 5 }, 'call_mcp'),
        callTool('find_agent', { query: 5 }, 'call_builtin'),
        say('my mistake'),
      );

      const session = await chat.createChatSession('local');
      const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'Shout 5 back at me', { userId: 'local' }));

      const inputErrors = chunks.filter((chunk) => chunk.type === 'tool-input-error');
      expect(inputErrors).toEqual([
        expect.objectContaining({
          toolCallId: 'call_mcp',
          toolName: 'echo__echo_upper',
          input: { text: 5 },
          errorText: expect.stringMatching(/text.*string/),
        }),
        expect.objectContaining({ toolCallId: 'call_builtin', toolName: 'find_agent', input: { query: 5 } }),
      ]);
      // Refused before the call: the server was never asked.
      expect(
        chunks.filter(
          (chunk) => chunk.type === 'tool-input-available' || chunk.type === 'tool-output-available' || chunk.type === 'tool-output-error',
        ),
      ).toEqual([]);
      expect(JSON.stringify(upstream.requests[1]!.body.messages.at(-1))).toMatch(/text.*string/);
      expect(textOf(chunks)).toBe('my mistake');
      expect(chunks.at(-1)!.type).toBe('finish');
    },
  );

  it('keeps chatting when configured MCP servers are down, offering only the built-in tools', async () => {
    const { chat, upstream } = await serviceWith({ down: 'node -e "process.exit(1)"', gone: { url: await closedPortUrl() } });
    upstream.enqueue(say('still here'));

    const session = await chat.createChatSession('local');
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'Are you there?', { userId: 'local' }));

    expect(chunks.map((chunk) => chunk.type)).not.toContain('error');
    expect(chunks.at(-1)!.type).toBe('finish');
    expect(textOf(chunks)).toBe('still here');
    const offered = (upstream.requests[0]!.body.tools as { function: { name: string } }[]).map((entry) => entry.function.name).sort();
    expect(offered).toEqual(AGENT_STORE_TOOLS);
  });

  it('skips a server that does not answer in time, with a warning naming it', async () => {
    const { log, lines } = capturingLogger();
    const started = Date.now();
    const mcp = await loadMcpTools({ mute: 'node -e "setTimeout(() => {}, 60000)"', echo: { url: echoHttp.url } }, log, { timeoutMs: 500 });
    cleanups.push(() => mcp.close());

    expect(Date.now() - started).toBeLessThan(4000);
    expect(Object.keys(mcp.tools).sort()).toEqual(['echo__echo_fail', 'echo__echo_slow', 'echo__echo_upper']);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', server: 'mute', msg: 'MCP server unavailable; its tools are left out' }),
    );
  });

  it('turns a tool error or a tool call that takes too long into a short thrown error', async () => {
    const { log } = capturingLogger();
    const mcp = await loadMcpTools({ echo: { url: echoHttp.url } }, log, { callTimeoutMs: 300 });
    cleanups.push(() => mcp.close());

    await expect(runTool(mcp.tools, 'echo__echo_upper', { text: 'abc' })).resolves.toBe('ABC');
    await expect(runTool(mcp.tools, 'echo__echo_fail', {})).rejects.toThrow('echo is broken today');
    const started = Date.now();
    await expect(runTool(mcp.tools, 'echo__echo_slow', { ms: 10_000 })).rejects.toThrow(/timed out/i);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('names tools within the characters and length model providers accept, and reads quoted command lines', () => {
    expect(toolName('docs', 'search.pages v2')).toBe('docs__search_pages_v2');
    expect(toolName('s', 'x'.repeat(100))).toHaveLength(64);
    expect(splitCommandLine('node -e "process.exit(1)"  --flag \'a b\'')).toEqual(['node', '-e', 'process.exit(1)', '--flag', 'a b']);
  });
});

describe('the agent-store MCP server over HTTP (POST /mcp)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let client: Client;

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', mcp: createMcpEndpoint });
    client = new Client({ name: 'mcp-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('lists the agent-store tools, the ones that run agents included', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((entry) => entry.name).sort()).toEqual(AGENT_STORE_TOOLS);
    for (const entry of tools) {
      expect(entry.description).toBeTruthy();
      expect(entry.inputSchema.type).toBe('object');
    }
  });

  it('finds agents tolerating typos, best first', async () => {
    const output = structured<{ agents: { slug: string; score: number }[]; query: string }>(
      await client.callTool({ name: 'find_agent', arguments: { query: 'moneny printing agent' } }),
    );
    expect(output.query).toBe('moneny printing agent');
    expect(output.agents[0]!.slug).toBe('money-printing-agent');
    expect(output.agents.length).toBeLessThanOrEqual(5);
  });

  it('adds an agent to the caller library and finds it there', async () => {
    const before = structured<{ agents: unknown[] }>(
      await client.callTool({ name: 'find_library_agent', arguments: { query: 'money printing' } }),
    );
    expect(before.agents).toEqual([]);

    const entry = structured<{ slug: string; addedAt: string }>(
      await client.callTool({ name: 'add_agent_to_library', arguments: { slug: 'money-printing-agent' } }),
    );
    expect(entry.slug).toBe('money-printing-agent');
    expect(Date.parse(entry.addedAt)).not.toBeNaN();

    const after = structured<{ agents: { slug: string }[] }>(
      await client.callTool({ name: 'find_library_agent', arguments: { query: 'money printing' } }),
    );
    expect(after.agents.map((agent) => agent.slug)).toContain('money-printing-agent');
    expect(await server.chat.agents.library('local')).toContainEqual(expect.objectContaining({ slug: 'money-printing-agent' }));
  });

  it('gives the details of an agent, and an error result naming an unknown slug', async () => {
    const agent = structured<{ slug: string; name: string }>(
      await client.callTool({ name: 'get_agent_details', arguments: { slug: 'money-printing-agent' } }),
    );
    expect(agent).toMatchObject({ slug: 'money-printing-agent', name: expect.any(String) });

    const missing = await client.callTool({ name: 'get_agent_details', arguments: { slug: 'no-such-agent' } });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain('no-such-agent');

    const notAdded = await client.callTool({ name: 'add_agent_to_library', arguments: { slug: 'no-such-agent' } });
    expect(notAdded.isError).toBe(true);
  });

  it('runs an agent: its setup info, run_agent returning at once, view_agent_output reading the output', async () => {
    const setup = structured<{ slug: string; missing: string[] }>(
      await client.callTool({
        name: 'get_required_setup_info',
        arguments: { slug: 'money-printing-agent', inputs: { skills: 'knitting' } },
      }),
    );
    expect(setup).toMatchObject({ slug: 'money-printing-agent', missing: ['startupBudget'] });

    const started = structured<{ executionId: string; status: string }>(
      await client.callTool({
        name: 'run_agent',
        arguments: { slug: 'money-printing-agent', inputs: { skills: 'knitting', startupBudget: 20 } },
      }),
    );
    expect(started.status).toBe('queued');
    await server.chat.executions.waitFor(started.executionId);
    const view = structured<{ status: string; output: string }>(
      await client.callTool({ name: 'view_agent_output', arguments: { executionId: started.executionId } }),
    );
    expect(view.status).toBe('finished');
    expect(view.output).toContain('knitting');

    const incomplete = await client.callTool({ name: 'run_agent', arguments: { slug: 'money-printing-agent', inputs: {} } });
    expect(incomplete.isError).toBe(true);
    expect(JSON.stringify(incomplete.content)).toContain('Skills is required');
  });

  it('refuses invalid input as an error result', async () => {
    const result = await client.callTool({ name: 'find_agent', arguments: { query: '' } });
    expect(result.isError).toBe(true);
  });

  it('answers a call to an unknown tool with a JSON-RPC error (-32602), not a tool result', async () => {
    for (const name of ['no_such_tool', 'toString', '__proto__', 'constructor']) {
      const call = client.callTool({ name, arguments: {} });
      await expect(call, name).rejects.toMatchObject({ code: -32602, message: expect.stringContaining(`Unknown tool "${name}"`) });
    }
    // A known tool still answers after those.
    structured(await client.callTool({ name: 'find_agent', arguments: { query: 'moneny printing agent' } }));
  });

  it('does not promise tools/list_changed notifications from a stateless endpoint', async () => {
    const capabilities = client.getServerCapabilities();
    expect(capabilities?.tools).toBeDefined();
    expect(capabilities?.tools).not.toHaveProperty('listChanged');
  });

  it('bounds a search: more than 16 different words or 500 characters is an error result naming the bound', async () => {
    const long = await client.callTool({
      name: 'find_agent',
      arguments: { query: Array.from({ length: 17 }, (_, i) => `word${i}`).join(' ') },
    });
    expect(long.isError).toBe(true);
    expect(JSON.stringify(long.content)).toContain('at most 16 different words');
    const wide = await client.callTool({ name: 'find_library_agent', arguments: { query: 'x'.repeat(501) } });
    expect(wide.isError).toBe(true);
    expect(JSON.stringify(wide.content)).toContain('500 characters');
    // Sixteen words are fine, repeated words count once.
    structured(
      await client.callTool({
        name: 'find_agent',
        arguments: { query: `${Array.from({ length: 16 }, (_, i) => `word${i}`).join(' ')} word0 word1` },
      }),
    );
  });

  it('refuses a JSON-RPC batch of more than 10 messages with 413 in the error shape, and answers one of 10', async () => {
    const batch = (size: number) =>
      fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(
          Array.from({ length: size }, (_, index) => ({
            jsonrpc: '2.0',
            id: index + 1,
            method: 'tools/call',
            params: { name: 'find_agent', arguments: { query: 'moneny printing agent' } },
          })),
        ),
      });
    const refused = await batch(11);
    expect(refused.status).toBe(413);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('at most 10 messages') });
    const answered = await batch(10);
    expect(answered.status).toBe(200);
    expect((await answered.json()) as unknown[]).toHaveLength(10);
  });

  it('answers GET and DELETE with 405 in the JSON error shape', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${server.url}/mcp`, { method, headers: { accept: 'text/event-stream' } });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
      expect(body.error).toMatchObject({ code: 'invalid_request', requestId: response.headers.get('x-request-id') });
    }
  });
});

describe('the agent-store MCP server over HTTP with AUTH_JWT_SECRET', () => {
  const secret = 's3cret';
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', mcp: createMcpEndpoint, authJwtSecret: secret });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server?.close();
  });

  async function clientFor(sub: string): Promise<Client> {
    const client = new Client({ name: 'mcp-test', version: '1.0.0' });
    const token = signJwt({ sub, exp: Math.floor(Date.now() / 1000) + 600 }, secret);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    clients.push(client);
    return client;
  }

  it('refuses a request without a bearer token with 401', async () => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'anonymous', version: '0' } },
      }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="autochat"');
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe('unauthorized');
  });

  it('acts for the user of the token: one user library is not another user library', async () => {
    const alice = await clientFor('alice');
    const bob = await clientFor('bob');
    structured(await alice.callTool({ name: 'add_agent_to_library', arguments: { slug: 'money-printing-agent' } }));

    const aliceLibrary = structured<{ agents: { slug: string }[] }>(
      await alice.callTool({ name: 'find_library_agent', arguments: { query: 'money' } }),
    );
    const bobLibrary = structured<{ agents: unknown[] }>(await bob.callTool({ name: 'find_library_agent', arguments: { query: 'money' } }));
    expect(aliceLibrary.agents.map((agent) => agent.slug)).toContain('money-printing-agent');
    expect(bobLibrary.agents).toEqual([]);
  });
});

describe('the agent-store MCP server over stdio (autochat mcp)', () => {
  let dataDir: string;
  let transport: StdioClientTransport;
  let client: Client;
  const stderr: string[] = [];
  const protocolErrors: Error[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'autochat-mcp-'));
    transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/cli.ts', 'mcp'],
      // Info-level logs on: they must all go to stderr, never into the MCP channel on stdout.
      env: { DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    client = new Client({ name: 'mcp-test', version: '1.0.0' });
    client.onerror = (error) => protocolErrors.push(error);
    // Starting takes a while on a busy machine: a fresh on-disk database, its migrations and the catalog.
    await client.connect(transport, { timeout: 50_000 });
  });
  afterAll(async () => {
    await client?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('lists the tools and finds agents, with stdout carrying only MCP messages', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((entry) => entry.name).sort()).toEqual(AGENT_STORE_TOOLS);

    const output = structured<{ agents: { slug: string }[] }>(
      await client.callTool({ name: 'find_agent', arguments: { query: 'moneny printing agent' } }),
    );
    expect(output.agents[0]!.slug).toBe('money-printing-agent');

    expect(protocolErrors).toEqual([]);
    expect(stderr.join('')).toContain('serving the agent-store tools over MCP on stdio');
  });

  it('exits on its own when its stdin ends', async () => {
    const pid = transport.pid!;
    const started = Date.now();
    await client.close();
    // The SDK waits 2 s for the process to exit before it sends SIGTERM.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
