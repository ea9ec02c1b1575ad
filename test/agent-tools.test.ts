/**
 * The agent-store tools as the model uses them: each one called by a scripted upstream in a full chat
 * turn, its input and output streamed as events and stored as a tool part of the answer — on PGlite
 * and on PostgreSQL when TEST_DATABASE_URL is set. Unknown slugs are an error the model can read (an
 * output), not a failed tool; a library search sees only the caller's own library. (`autochat store
 * import` is test/cli-store-import.test.ts.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../src/http/middleware/jwt.js';
import type { RunningServer } from '../src/http/server.js';
import type { Agent, AgentMatch, LibraryEntry } from '../src/store/agents-repository.js';
import { databaseTargets } from './support/databases.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';

const SECRET = 'agent-tools-test-secret-long-enough';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const catalog = JSON.parse(await readFile(join(ROOT, 'catalog/agents.json'), 'utf8')) as Agent[];
/** A shipped entry as the store lists it: the listing fields, without its runnable definition. */
const shipped = (slug: string) => {
  const {
    instructions: _instructions,
    inputs: _inputs,
    tools: _tools,
    model: _model,
    ...listing
  } = catalog.find((agent) => agent.slug === slug)!;
  return listing;
};

type ToolInput = Extract<UIMessageChunk, { type: 'tool-input-available' }>;
type ToolOutput = Extract<UIMessageChunk, { type: 'tool-output-available' }>;
type ToolPart = { type: string; state: string; input: unknown; output: unknown };

async function collect(events: AsyncIterable<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const event of events) chunks.push(event);
  return chunks;
}

describe.each(databaseTargets)('agent tools in a chat turn on $name', (target) => {
  let upstream: FakeUpstream;
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;

  /** The caller's library through the HTTP API, as that user. */
  const libraryOf = async (userId: string) => {
    const token = signJwt({ sub: userId, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    const response = await server.app.request('/api/library', { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { agents: LibraryEntry[] }).agents;
  };

  /**
   * One chat turn in which the model calls `name` with `input`, then answers. Checks the events and
   * the stored tool part, and returns the tool's output.
   */
  async function callInTurn(userId: string, name: string, input: Record<string, unknown>): Promise<unknown> {
    const chat = server.chat;
    const session = await chat.createChatSession(userId);
    upstream.enqueue(callTool(name, input), say('Done.'));
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, `Please use ${name}.`, { userId }));
    const types = chunks.map((chunk) => chunk.type);
    expect(types).not.toContain('tool-output-error');
    expect(types).not.toContain('error');
    expect(types.at(-1)).toBe('finish');

    const started = chunks.find((chunk): chunk is ToolInput => chunk.type === 'tool-input-available');
    const ended = chunks.find((chunk): chunk is ToolOutput => chunk.type === 'tool-output-available');
    expect(started).toMatchObject({ toolName: name, input });
    expect(ended?.toolCallId).toBe(started!.toolCallId);
    expect(types.indexOf('tool-input-available')).toBeLessThan(types.indexOf('tool-output-available'));

    const stored = await chat.getChatSession(session.sessionId, userId);
    const part = stored!.messages[1]!.parts.find((candidate) => candidate.type === `tool-${name}`) as ToolPart | undefined;
    expect(part).toMatchObject({ type: `tool-${name}`, state: 'output-available', input });
    expect(part!.output).toEqual(ended!.output);
    return ended!.output;
  }

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    database = await target.create();
    server = await startTestServer(
      upstreamOptions(upstream.url, { databaseUrl: database.databaseUrl, dataDir: database.dataDir, authJwtSecret: SECRET }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    await upstream?.close();
  });

  it('get_agent_details returns the full catalog entry of a known slug', async () => {
    const output = await callInTurn('alice', 'get_agent_details', { slug: 'invoice-chaser' });
    expect(output).toEqual(shipped('invoice-chaser'));
  });

  it('get_agent_details answers an unknown slug with an error output naming it', async () => {
    const output = (await callInTurn('alice', 'get_agent_details', { slug: 'no-such-agent' })) as { error: string; slug: string };
    expect(output.slug).toBe('no-such-agent');
    expect(output.error).toContain('"no-such-agent"');
  });

  it('add_agent_to_library adds the agent to the caller library, which the library API then lists', async () => {
    const output = (await callInTurn('alice', 'add_agent_to_library', { slug: 'money-printing-agent' })) as LibraryEntry;
    expect(output).toMatchObject({ ...shipped('money-printing-agent'), addedAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(output.addedAt))).toBe(false);
    const library = await libraryOf('alice');
    expect(library.map((entry) => entry.slug)).toEqual(['money-printing-agent']);
    expect(await server.chat.agents.library('alice')).toEqual(library);
    // Adding again is harmless and keeps one entry.
    await callInTurn('alice', 'add_agent_to_library', { slug: 'money-printing-agent' });
    expect((await libraryOf('alice')).map((entry) => entry.slug)).toEqual(['money-printing-agent']);
  });

  it('add_agent_to_library answers an unknown slug with an error output and adds nothing', async () => {
    const output = (await callInTurn('bob', 'add_agent_to_library', { slug: 'no-such-agent' })) as { error: string; slug: string };
    expect(output).toMatchObject({ slug: 'no-such-agent', error: expect.stringContaining('"no-such-agent"') });
    expect(await libraryOf('bob')).toEqual([]);
  });

  it("find_library_agent searches the caller's own library only, typos included", async () => {
    await callInTurn('carol', 'add_agent_to_library', { slug: 'invoice-chaser' });
    await callInTurn('carol', 'add_agent_to_library', { slug: 'youtube-script-writer' });
    await callInTurn('dave', 'add_agent_to_library', { slug: 'money-printing-agent' });

    const search = async (userId: string, query: string) => {
      const output = (await callInTurn(userId, 'find_library_agent', { query })) as { agents: AgentMatch[]; query: string };
      expect(output.query).toBe(query);
      return output.agents.map((agent) => agent.slug);
    };
    expect(await search('carol', 'invocie chaser')).toEqual(['invoice-chaser']);
    expect((await search('carol', 'youtub scrpt'))[0]).toBe('youtube-script-writer');
    // Money Printing Agent is in the store and in dave's library, not in carol's.
    expect(await search('carol', 'moneny printing agent')).not.toContain('money-printing-agent');
    expect(await search('dave', 'moneny printing agent')).toEqual(['money-printing-agent']);
    expect(await search('dave', 'invoice chaser')).toEqual([]);
    expect(await search('erin', 'moneny printing agent')).toEqual([]);
  });
});
