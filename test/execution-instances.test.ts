/**
 * Agent executions across instances: two server processes sharing PostgreSQL and Redis. An execution
 * started on one is followed from its first event and stopped from the other (its upstream request
 * really closes); when its owner is killed (SIGKILL), the other instance continues it — the output so
 * far kept, the model asked to go on, appended to the same output and log — and its followers' streams
 * go on to `finish`. Where continuing is not allowed (RUN_CONTINUE_MAX=0) it is closed as interrupted,
 * keeping what it had written and charging the call it had in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, TEST_REDIS_URL, databaseTargets } from './support/databases.js';
import { say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { CONTINUE_INSTRUCTION } from '../src/chat/run-continuation.js';
import { instanceEnv, spawnServer, type ServerProcess } from './support/server-processes.js';
import { readSse, typesOf } from './support/ui-stream.js';

const json = { 'content-type': 'application/json' };
const SLOW = 'one two three four five six seven eight nine ten ';

type Execution = {
  status: string;
  output?: { parts: { type: string; text?: string }[] };
  error?: string;
  usage?: { totalTokens: number; completionTokens: number; promptTokens: number };
};

const start = async (url: string, skills: string) => {
  const response = await fetch(`${url}/api/executions`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ slug: 'money-printing-agent', inputs: { skills, startupBudget: 10 } }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { executionId: string }).executionId;
};
const get = async (url: string, id: string) => (await (await fetch(`${url}/api/executions/${id}`)).json()) as Execution;
const textOf = (execution: Execution) => (execution.output?.parts ?? []).map((part) => part.text ?? '').join('');

/** Reads a stream until `count` data events arrived, and keeps reading the rest in the background. */
async function follow(url: string, id: string, count: number): Promise<{ head: string; rest: Promise<string> }> {
  const response = await fetch(`${url}/api/executions/${id}/stream`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while ((text.match(/^data: /gm) ?? []).length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const head = text;
  // Wrapped: a promise returned from an async function would be awaited with it.
  const rest = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { head, rest };
}

describe.runIf(Boolean(TEST_DATABASE_URL && TEST_REDIS_URL))('agent executions on two instances sharing PostgreSQL and Redis', () => {
  let upstream: FakeUpstream;
  let a: ServerProcess;
  let b: ServerProcess;
  let database: Awaited<ReturnType<(typeof databaseTargets)[number]['create']>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
    env = instanceEnv(upstream.url, { DATABASE_URL: database.databaseUrl!, REDIS_URL: TEST_REDIS_URL! });
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  }, 120_000);
  afterAll(async () => {
    upstream?.release('exec-held');
    await Promise.all([a?.stop(), b?.stop()]);
    await upstream?.close();
    await database?.drop();
  });

  it('follows an execution from its first event on another instance, and stops it from there', async () => {
    upstream.enqueue({
      steps: [{ text: 'Draft ' }, { text: 'plan. ' }, { gate: 'exec-held' }, { text: 'Never sent.' }],
      finishReason: 'stop',
    });
    const id = await start(a.url, 'sewing');
    await upstream.reached('exec-held');
    const { rest } = await follow(b.url, id, 3);
    const closed = upstream.waitForEarlyClose(10_000);
    const stop = await fetch(`${b.url}/api/executions/${id}/stop`, { method: 'POST' });
    expect(await stop.json()).toEqual({ stopped: true });
    const stream = await readSse(new Response(await rest));
    const types = typesOf(stream.chunks);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('abort');
    expect(stream.endedWithDone).toBe(true);
    await closed; // the upstream request of the owner, on the other instance, was aborted
    const stopped = await get(b.url, id);
    expect(stopped.status).toBe('stopped');
    expect(textOf(stopped)).toBe('Draft plan. ');
  });

  it('continues the execution of a killed owner on the other instance: one output, its followers see it finish', async () => {
    upstream.enqueue(say(SLOW.repeat(100), 40));
    const id = await start(a.url, 'welding');
    const { head, rest } = await follow(b.url, id, 12);
    const streamedBeforeKill = (await readSse(new Response(head))).chunks.flatMap((chunk) =>
      chunk.type === 'text-delta' ? [chunk.delta] : [],
    );
    expect(streamedBeforeKill.length).toBeGreaterThan(0);
    const requestsBefore = upstream.requests.length;
    upstream.enqueue({ ...say('and that is the whole plan.'), usage: { prompt_tokens: 50, completion_tokens: 7 } });
    await a.kill();
    const stream = await readSse(new Response(await rest));
    const types = typesOf(stream.chunks);
    expect(types.at(-1)).toBe('finish');
    expect(types).not.toContain('error');
    expect(types.filter((type) => type === 'start')).toHaveLength(1);
    expect(stream.endedWithDone).toBe(true);
    expect((stream.chunks.at(-1) as { messageMetadata?: { continuations?: number } }).messageMetadata?.continuations).toBe(1);

    const execution = (await get(b.url, id)) as Execution & { output: { metadata?: { continuations?: number } } };
    expect(execution.status).toBe('finished');
    const output = textOf(execution);
    // Everything streamed before the kill, then the continuation, in one output.
    expect(output.startsWith(streamedBeforeKill.join(''))).toBe(true);
    expect(output.endsWith('and that is the whole plan.')).toBe(true);
    expect(execution.output.metadata?.continuations).toBe(1);
    // The model was shown the output so far and asked to go on from it.
    const continuing = upstream.requests.slice(requestsBefore).find((request) => request.body.stream === true)!;
    const messages = continuing.body.messages as { role: string; content: unknown }[];
    expect(String(messages[0]!.content)).toContain(CONTINUE_INSTRUCTION);
    expect(messages.at(-1)!.role).toBe('assistant');
    expect(JSON.stringify(messages.at(-1)!.content)).toContain(streamedBeforeKill.join('').trim().slice(0, 40));
    // Charged: the killed owner's call (estimated from what it wrote) and the continuation (as measured).
    expect(execution.usage!.completionTokens).toBeGreaterThanOrEqual(7 + Math.ceil(streamedBeforeKill.join('').length / 4));
    expect(execution.usage!.promptTokens).toBeGreaterThanOrEqual(50);
  });

  it('closes the execution of a killed owner as interrupted where continuing is not allowed, with what it wrote and the call in flight charged', async () => {
    // A pair of instances that do not continue (RUN_CONTINUE_MAX=0): the first pair is done with.
    const [c, d] = await Promise.all([spawnServer({ ...env, RUN_CONTINUE_MAX: '0' }), spawnServer({ ...env, RUN_CONTINUE_MAX: '0' })]);
    await b.stop();
    [a, b] = [c, d];
    upstream.enqueue(say(SLOW.repeat(100), 40));
    const id = await start(a.url, 'welding');
    const { rest } = await follow(b.url, id, 12);
    await a.kill();
    const stream = await readSse(new Response(await rest));
    expect(typesOf(stream.chunks).slice(-2)).toEqual(['error', 'abort']);
    expect(stream.endedWithDone).toBe(true);
    const execution = await get(b.url, id);
    expect(execution.status).toBe('interrupted');
    expect(execution.error).toContain('stopped unexpectedly');
    const partial = textOf(execution);
    expect(partial.startsWith('one two three')).toBe(true);
    expect(execution.usage!.completionTokens).toBeGreaterThanOrEqual(Math.ceil(partial.length / 4));
    // The killed owner's place counts no more: new executions start on the survivor.
    upstream.enqueue(say('Fresh.'));
    const next = await start(b.url, 'joinery');
    await expect.poll(async () => (await get(b.url, next)).status, { timeout: 10_000 }).toBe('finished');
  });
});
