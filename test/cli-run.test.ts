/**
 * `autochat run` and `autochat executions` as a user runs them: child processes against a real
 * server started in this process (a scripted upstream). The output streams to stdout, a refused run
 * says why and exits 1, Ctrl-C (SIGINT) stops the execution on the server, and the list shows them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { runCli, startCli } from './support/cli-process.js';
import { say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';

describe('autochat run and autochat executions', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
  });
  afterAll(async () => {
    upstream?.release('cli-held');
    await server?.close();
    await upstream?.close();
  });

  it('streams the output of a run to stdout and exits 0', async () => {
    upstream.enqueue(say('Here is your plan, step by step.'));
    const run = await runCli(['run', 'money-printing-agent', '--input', 'skills=woodwork', '-i', 'startupBudget=250', '--url', server.url]);
    expect(run.stderr).toContain('Running money-printing-agent');
    expect(run.stdout).toBe('Here is your plan, step by step.\n');
    expect(run.code).toBe(0);
    const sent = JSON.stringify(upstream.requests.at(-1)!.body.messages);
    expect(sent).toContain('Skills (skills): woodwork');
    expect(sent).toContain('Startup budget (startupBudget): 250');
  });

  it('says why a run is refused and exits 1', async () => {
    const run = await runCli(['run', 'money-printing-agent', '--input', 'skills=woodwork', '--url', server.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Startup budget is required');
    const unknown = await runCli(['run', 'no-such-agent', '--url', server.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('"no-such-agent"');
    const usage = await runCli(['run', 'money-printing-agent', '--input', 'oops', '--url', server.url]);
    expect(usage.code).toBe(2);
  });

  it('stops the execution on the server at Ctrl-C, keeping what it wrote, and lists it', async () => {
    upstream.enqueue({ steps: [{ text: 'First idea. ' }, { gate: 'cli-held' }, { text: 'Never sent.' }], finishReason: 'stop' });
    const running = startCli(['run', 'money-printing-agent', '--input', 'skills=glass', '--input', 'startupBudget=5', '--url', server.url]);
    await running.waitForStdout('First idea.');
    running.child.kill('SIGINT');
    const run = await running.exited;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ended stopped');
    const executionId = /execution ([0-9a-f-]{36})/.exec(run.stderr)![1]!;
    const stored = await server.chat.executions.get(executionId, 'local');
    expect(stored.status).toBe('stopped');
    expect(stored.output?.parts.find((part) => part.type === 'text')).toMatchObject({ text: 'First idea. ' });

    const list = await runCli(['executions', '--url', server.url]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(
      new RegExp(`^${executionId}\\s+stopped\\s+.+Money Printing Agent \\(money-printing-agent\\)$`),
    );
    expect(list.stdout).toMatch(/finished/);
  });
});
