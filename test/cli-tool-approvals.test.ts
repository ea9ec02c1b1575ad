/**
 * `autochat chat` asking before a tool acts: against a real server whose MCP tool needs approval (the
 * default for MCP tools), the CLI asks `Allow <tool> {input}? [y/N]`, and y runs the tool while
 * anything else denies it — one-shot (`-m`) and in a piped interactive session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { runCli } from './support/cli-process.js';
import { serveEchoOverHttp } from './support/echo-mcp-server.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { startTestServer, testOptions, upstreamOptions } from './support/test-service.js';

/** `autochat chat` with `input` on its stdin, to its end. */
const chat = (args: string[], input: string) => runCli(['chat', ...args], { input });

describe('autochat chat with a tool that needs approval', () => {
  let upstream: FakeUpstream;
  let echo: Awaited<ReturnType<typeof serveEchoOverHttp>>;
  let server: RunningServer;

  beforeAll(async () => {
    [upstream, echo] = await Promise.all([startFakeUpstream(), serveEchoOverHttp()]);
    upstream.setDefault(say('Title'));
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://', mcpServers: { everything: { url: echo.url } } }));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await Promise.all([upstream?.close(), echo?.close()]);
  });

  const QUESTION = 'Allow everything__echo_upper {"text":"hi"}? [y/N] ';

  it('-m asks, and y runs the tool and the answer goes on', async () => {
    const session = await server.chat.createChatSession('local');
    upstream.enqueue(callTool('everything__echo_upper', { text: 'hi' }, 'call_yes'), say('It says HI.'));
    const run = await chat(['-m', 'Shout hi', '--url', server.url, '--session', session.sessionId], 'y\n');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('⚙ everything__echo_upper {"text":"hi"}');
    expect(run.stdout).toContain(QUESTION);
    expect(run.stdout.indexOf(QUESTION)).toBeLessThan(run.stdout.indexOf('It says HI.'));
    expect(lines.find((line) => line.startsWith('✓ everything__echo_upper'))).toContain('HI');
    const stored = (await server.chat.getChatSession(session.sessionId))!;
    expect(stored.status).toBe('idle');
    expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ state: 'output-available', output: 'HI' }));
  });

  it('-m with anything but y (here: end of input) denies it: the tool does not run, the answer goes on', async () => {
    const session = await server.chat.createChatSession('local');
    upstream.enqueue(callTool('everything__echo_upper', { text: 'hi' }, 'call_no'), say('Fine, no shouting.'));
    const run = await chat(['-m', 'Shout hi', '--url', server.url, '--session', session.sessionId], '');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(QUESTION);
    expect(run.stdout).toContain('⊘ everything__echo_upper not allowed');
    expect(run.stdout).toContain('Fine, no shouting.');
    const stored = (await server.chat.getChatSession(session.sessionId))!;
    expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ state: 'output-denied' }));
  });

  it('in a piped interactive session, the next line answers the question', async () => {
    upstream.enqueue(callTool('everything__echo_upper', { text: 'hi' }, 'call_piped'), say('Shouted.'), say('Bye!'));
    const run = await chat(['--url', server.url], 'Shout hi\nn\nThanks\n/quit\n');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(QUESTION);
    expect(run.stdout).toContain('⊘ everything__echo_upper not allowed');
    expect(run.stdout).toContain('Shouted.');
    expect(run.stdout).toContain('Bye!');
  });
});

describe('autochat chat running an agent with the offline demo model', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer(testOptions({ dataDir: 'memory://' }));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('finds the agent, asks before run_agent, starts it on y, and reads its output back', async () => {
    const session = await server.chat.createChatSession('local');
    const asked = 'Find me an agent that writes LinkedIn posts and run it about our launch';
    const run = await chat(['-m', asked, '--url', server.url, '--session', session.sessionId], 'y\n');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('⚙ find_agent {"query":"writes LinkedIn posts"}');
    expect(lines).toContain('⚙ get_required_setup_info {"slug":"linkedin-post-generator"}');
    expect(run.stdout).toContain('Allow run_agent {"slug":"linkedin-post-generator","inputs":{"topic":"our launch"}}? [y/N] ');
    const executionId = /The agent is running \(execution `?([0-9a-f-]{36})`?\)/.exec(run.stdout)?.[1];
    expect(executionId).toBeDefined();
    await server.chat.executions.waitFor(executionId!);

    const read = await chat(['-m', 'Show me its output', '--url', server.url, '--session', session.sessionId], '');
    expect(read.code).toBe(0);
    expect(read.stdout).toContain(`⚙ view_agent_output {"executionId":"${executionId}"}`);
    expect(read.stdout).toContain('finished');
    expect(read.stdout).toContain('our launch');
  });
});
