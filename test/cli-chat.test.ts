/**
 * `autochat chat` as a user runs it: a child process against a real server started in this process,
 * one-shot (`-m`), driven through a pipe, and in a real pseudo-terminal (tmux) for Ctrl-C and Ctrl-D.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { signJwt } from '../src/http/middleware/jwt.js';
import { runCli, startCli } from './support/cli-process.js';
import { say, startFakeUpstream, type FakeUpstream, type RecordedRequest, type Script } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'chat'];
const DEMO_GREETING = "Hello! I'm autochat's built-in demo model";
const ESC = '\u001b[';

/** `autochat chat` as its own process, its stdin open for the test to type into. */
const startChat = (args: string[], options: { env?: Record<string, string> } = {}) => startCli(['chat', ...args], options);
/** `autochat chat` with `input` (or nothing) on its stdin, to its end. */
const runChat = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) => runCli(['chat', ...args], options);

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The fake upstream answering slowly (stoppable mid-answer); title requests (no tools) get a short title. */
function slowAnswers(upstream: FakeUpstream): void {
  upstream.setDefault(
    (request: RecordedRequest): Script => (request.body.tools?.length ? say('word '.repeat(200), 30) : say('A long story')),
  );
}

describe('autochat chat against the demo model', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('-m streams the answer to stdout and exits 0, without colour when stdout is not a terminal', async () => {
    const run = await runChat(['-m', 'Hello', '--url', server.url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(DEMO_GREETING);
    expect(run.stdout).not.toContain(ESC);
    expect(run.stdout).not.toContain('tokens'); // the usage line is for interactive use only
  });

  it('finds the server from PORT (and HOST) as `autochat serve` does, when no --url or AUTOCHAT_URL is given', async () => {
    const port = new URL(server.url).port;
    const run = await runChat(['-m', 'Hello'], { env: { PORT: port, HOST: '0.0.0.0' } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(DEMO_GREETING);
  });

  it('-m shows the find_agent call and its result on one line each', async () => {
    const run = await runChat(['-m', "find me an agent for 'moneny printing agent'", '--url', server.url]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('⚙ find_agent {"query":"moneny printing agent"}');
    const result = lines.find((line) => line.startsWith('✓ find_agent → '));
    expect(result).toMatch(/^✓ find_agent → \d+ agents: money-printing-agent, /);
    expect(result!.length).toBeLessThanOrEqual(140);
    expect(run.stdout).toContain('`money-printing-agent`'); // the answer itself names it too
  });

  it('--session continues an existing session, and AUTOCHAT_URL stands in for --url', async () => {
    const session = await server.chat.createChatSession('local');
    const run = await runChat(['-m', 'Hello again', '--session', session.sessionId], { env: { AUTOCHAT_URL: server.url } });
    expect(run.code).toBe(0);
    const stored = await server.chat.getChatSession(session.sessionId);
    expect(stored?.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(stored?.messages[0]?.parts).toEqual([expect.objectContaining({ type: 'text', text: 'Hello again' })]);
  });

  it('an unknown session is reported on stderr with exit 1', async () => {
    const run = await runChat(['-m', 'Hello', '--session', '00000000-0000-4000-8000-000000000000', '--url', server.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('session 00000000-0000-4000-8000-000000000000 not found');
  });

  it('a closed port gives exit 1 and says the server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const oneShot = await runChat(['-m', 'Hello', '--url', url]);
    expect(oneShot.code).toBe(1);
    expect(oneShot.stderr).toContain(`cannot reach autochat at ${url} — is \`autochat serve\` running?`);
    const interactive = await runChat(['--url', url], { input: 'Hello\n' });
    expect(interactive.code).toBe(1);
    expect(interactive.stderr).toContain(`cannot reach autochat at ${url}`);
  });

  it('bad flags exit 2 with usage; --help exits 0', async () => {
    const bad = await runChat(['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Usage:');
    const help = await runChat(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('/sessions');
  });

  it('reads lines from a pipe: answers, lists sessions, opens one, and exits 0 on /quit', async () => {
    const run = await runChat(['--url', server.url], { input: 'Hello\n/sessions\n/open 1\n/bogus\n/quit\nnever sent\n' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^autochat v\\S+ · ${server.url} · autochat/offline-demo \\(offline demo model`));
    expect(run.stdout).toContain(DEMO_GREETING);
    expect(run.stdout).toMatch(/^\d+ tokens \(\d+ prompt \+ \d+ completion\)$/m);
    const { sessions } = await server.chat.listChatSessions('local', { limit: 1 });
    const newest = sessions[0]!;
    expect(run.stdout).toMatch(new RegExp(`^\\*\\s+1  ${newest.sessionId}  `, 'm'));
    expect(run.stdout).toContain(`session ${newest.sessionId} · `);
    expect(run.stdout).toContain('you › Hello');
    expect(run.stdout).toContain('unknown command /bogus');
    expect(newest.title).not.toBeNull();
    const stored = await server.chat.getChatSession(newest.sessionId);
    expect(stored?.messages).toHaveLength(2); // "never sent" came after /quit
  });

  it('exits 0 at the end of piped input after answering every line', async () => {
    const run = await runChat(['--url', server.url], { input: 'Hello\nHello' });
    expect(run.code).toBe(0);
    expect(run.stdout.split(DEMO_GREETING)).toHaveLength(3);
  });
});

describe('autochat chat against a server that requires a token', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', authJwtSecret: 'k' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('without a token: exit 1 and says how to pass one, in both modes', async () => {
    for (const input of [undefined, 'Hello\n']) {
      const run = await runChat(input === undefined ? ['-m', 'Hello', '--url', server.url] : ['--url', server.url], { input });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('the server requires a token: pass --token or set AUTOCHAT_TOKEN');
    }
  });

  it('with a token from --token or AUTOCHAT_TOKEN: answers as that user', async () => {
    const byFlag = await runChat(['-m', 'Hello', '--url', server.url, '--token', signJwt({ sub: 'alice' }, 'k')]);
    expect(byFlag.code).toBe(0);
    expect(byFlag.stdout).toContain(DEMO_GREETING);
    const byEnv = await runChat(['-m', 'Hello', '--url', server.url], { env: { AUTOCHAT_TOKEN: signJwt({ sub: 'bob' }, 'k') } });
    expect(byEnv.code).toBe(0);
    expect((await server.chat.listChatSessions('alice', { limit: 5 })).sessions).toHaveLength(1);
    expect((await server.chat.listChatSessions('bob', { limit: 5 })).sessions).toHaveLength(1);
  });

  it('a wrong token is refused with exit 1', async () => {
    const run = await runChat(['-m', 'Hello', '--url', server.url, '--token', signJwt({ sub: 'eve' }, 'not-k')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the server refused the token');
  });
});

describe('autochat chat against a scripted upstream', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('an error after the answer started goes to stderr, keeps the partial text, and exits 1', async () => {
    upstream.setDefault((request) =>
      request.body.tools?.length ? { steps: [{ text: 'Partial answer ' }, { errorChunk: 'the model fell over' }] } : say('Title'),
    );
    const run = await runChat(['-m', 'Hello', '--url', server.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Partial answer');
    expect(run.stderr).toMatch(/^error: .+/m);
  });

  it('/retry answers the last message again and /edit replaces it, each keeping the earlier version', async () => {
    let answers = 0;
    upstream.setDefault((request) => (request.body.tools?.length ? say(`Version ${++answers} of the answer.`) : say('Title')));
    const cli = startChat(['--url', server.url]);
    cli.child.stdin.write('Name a colour\n');
    await cli.waitForStdout('Version 1 of the answer.');
    cli.child.stdin.write('/retry\n');
    await cli.waitForStdout('Version 2 of the answer.');
    cli.child.stdin.write('/edit Name a fruit\n');
    await cli.waitForStdout('Version 3 of the answer.');
    cli.child.stdin.write('/quit\n');
    const run = await cli.exited;
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    // The model was asked the edited question alone, and the chat now reads as edited.
    const last = upstream.requests.filter((request) => request.body.tools?.length).at(-1)!;
    expect(JSON.stringify(last.body.messages)).toContain('Name a fruit');
    expect(JSON.stringify(last.body.messages)).not.toContain('Name a colour');
    const { sessions } = await server.chat.listChatSessions('local', { limit: 1 });
    const session = (await server.chat.getChatSession(sessions[0]!.sessionId))!;
    expect(session.messages.map((message) => message.parts.map((part) => (part.type === 'text' ? part.text : '')).join(''))).toEqual([
      'Name a fruit',
      'Version 3 of the answer.',
    ]);
    expect(session.messages[0]!.branch).toEqual({ index: 1, count: 2 });
    const all = await server.chat.allMessages(sessions[0]!.sessionId, 'local');
    expect(all.filter((message) => message.role === 'assistant')).toHaveLength(3);
  });

  it('Ctrl-C (SIGINT) mid-answer in a piped session stops the run on the server, then /quit still works', async () => {
    slowAnswers(upstream);
    const earlierRequests = upstream.requests.length;
    const cli = startChat(['--url', server.url]);
    cli.child.stdin.write('Tell me a long story\n');
    await cli.waitForStdout('word word word');
    cli.child.kill('SIGINT');
    await cli.waitForStdout('[stopped]');
    const closed = await upstream.waitForEarlyClose();
    expect(upstream.requests.indexOf(closed)).toBeGreaterThanOrEqual(earlierRequests);
    const { sessions } = await server.chat.listChatSessions('local', { limit: 1 });
    await expect.poll(async () => (await server.chat.getChatSession(sessions[0]!.sessionId))?.lastRunStatus).toBe('stopped');
    cli.child.stdin.write('/quit\n');
    const run = await cli.exited;
    expect(run.code).toBe(0);
    expect(run.stdout.match(/word/g)!.length).toBeLessThan(200);
    expect(run.stderr).toBe('');
  });

  it('Ctrl-C during -m stops the run on the server and exits 130', async () => {
    slowAnswers(upstream);
    upstream.requests.forEach((request) => (request.closedEarly = false));
    const cli = startChat(['-m', 'Tell me a long story', '--url', server.url]);
    await cli.waitForStdout('word word word');
    cli.child.kill('SIGINT');
    await upstream.waitForEarlyClose();
    const run = await cli.exited;
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('[stopped]');
  });
});

const execFileAsync = promisify(execFile);
const hasTmux = await execFileAsync('tmux', ['-V']).then(
  () => true,
  () => false,
);
if (!hasTmux) console.warn('skipping the pseudo-terminal tests of `autochat chat`: tmux is not installed (apt-get install -y tmux)');

describe.skipIf(!hasTmux)('autochat chat in a real terminal (tmux)', () => {
  const socket = `autochat-test-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'autochat-cli-'));
  let upstream: FakeUpstream;
  let demo: RunningServer;
  let scripted: RunningServer;

  const tmux = (...args: string[]) => execFileAsync('tmux', ['-L', socket, ...args]);
  const screen = async (name: string) => (await tmux('capture-pane', '-p', '-J', '-t', name)).stdout;
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

  /** Runs the CLI in a detached tmux session; its exit code lands in a file. */
  async function startInTmux(name: string, url: string): Promise<string> {
    const exitFile = join(dir, `${name}.exit`);
    const command = [process.execPath, ...CLI, '--url', url].map(quote).join(' ');
    await tmux(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      '160',
      '-y',
      '50',
      '-c',
      ROOT,
      `env -u NO_COLOR -u AUTOCHAT_URL -u AUTOCHAT_TOKEN ${command}; echo $? > ${quote(exitFile)}; sleep 60`,
    );
    return exitFile;
  }

  async function waitForScreen(name: string, test: (text: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await screen(name);
      if (test(text)) return text;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${what}; it shows:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function waitForExit(exitFile: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(exitFile) || readFileSync(exitFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('the CLI did not exit');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return readFileSync(exitFile, 'utf8').trim();
  }

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    slowAnswers(upstream);
    [demo, scripted] = await Promise.all([
      startTestServer({ dataDir: 'memory://' }),
      startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' })),
    ]);
  });
  afterAll(async () => {
    await tmux('kill-server').catch(() => undefined);
    await Promise.all([demo?.close(), scripted?.close()]);
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the banner and prompt, streams an answer, and Ctrl-C twice at the prompt exits 0', async () => {
    const exitFile = await startInTmux('demo', demo.url);
    await waitForScreen('demo', (text) => text.includes('you ›') && text.includes('offline demo model'), 'the banner and prompt');
    await tmux('send-keys', '-t', 'demo', 'Hello', 'Enter');
    await waitForScreen('demo', (text) => /\d+ tokens \(/.test(text) && text.trimEnd().endsWith('you ›'), 'the answer and a new prompt');
    expect(await screen('demo')).toContain(DEMO_GREETING);
    await tmux('send-keys', '-t', 'demo', 'half-typed', 'C-c');
    await waitForScreen('demo', (text) => text.includes('press Ctrl-C again to quit'), 'the quit hint');
    await tmux('send-keys', '-t', 'demo', 'C-c');
    expect(await waitForExit(exitFile)).toBe('0');
  });

  it("renders the answer's Markdown for the terminal: no ** or backticks, bullets for list items", async () => {
    upstream.enqueue(say('Here is **bold** and `code`:\n- first item\n- second item\n'));
    const exitFile = await startInTmux('markdown', scripted.url);
    await waitForScreen('markdown', (text) => text.includes('you ›'), 'the prompt');
    await tmux('send-keys', '-t', 'markdown', 'Show me some Markdown', 'Enter');
    const shown = await waitForScreen('markdown', (text) => text.includes('• second item'), 'the rendered list');
    expect(shown).toContain('Here is bold and code:');
    expect(shown).toContain('• first item');
    expect(shown).not.toContain('**');
    expect(shown).not.toContain('`');
    await tmux('send-keys', '-t', 'markdown', 'C-d');
    expect(await waitForExit(exitFile)).toBe('0');
  });

  it('Ctrl-C while an answer streams stops it on the server and returns to the prompt; Ctrl-D exits 0', async () => {
    upstream.requests.forEach((request) => (request.closedEarly = false));
    const exitFile = await startInTmux('stop', scripted.url);
    await waitForScreen('stop', (text) => text.includes('you ›'), 'the prompt');
    await tmux('send-keys', '-t', 'stop', 'Tell me a long story', 'Enter');
    await waitForScreen('stop', (text) => text.includes('word word word'), 'the answer streaming');
    await tmux('send-keys', '-t', 'stop', 'C-c');
    await upstream.waitForEarlyClose();
    await waitForScreen('stop', (text) => text.includes('[stopped]') && text.trimEnd().endsWith('you ›'), '[stopped] and a new prompt');
    await tmux('send-keys', '-t', 'stop', 'C-d');
    expect(await waitForExit(exitFile)).toBe('0');
  });
});
