/**
 * A scripted OpenAI-compatible chat-completions server over real HTTP, for tests and benchmarks.
 * Each request takes the next script from the queue (or the default): an HTTP error, or a stream of
 * chunks with delays, optionally cut by a connection reset, a malformed chunk or silence. It records
 * every request body and whether the client closed the connection early.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type ScriptStep =
  | { text: string; delayMs?: number }
  | { toolCall: { id: string; name: string; arguments: string; index?: number }; splitArguments?: number; delayMs?: number }
  | { raw: string; delayMs?: number }
  | { errorChunk: string; delayMs?: number }
  | { reset: true; delayMs?: number }
  | { hang: true }
  /** Waits until the test calls `release(name)` (released gates pass at once). */
  | { gate: string }
  /** Holds the stream until the test says so (in-process tests only). */
  | { waitFor: () => Promise<void> };

export type Script =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | {
      steps: ScriptStep[];
      finishReason?: 'stop' | 'tool_calls' | 'length' | null;
      usage?: { prompt_tokens: number; completion_tokens: number; cost?: number } | null;
      /** End the body without a finish reason or [DONE] (a truncated stream). */
      truncate?: boolean;
    };

export type RecordedRequest = {
  body: { model: string; messages: { role: string; content: unknown; tool_calls?: unknown }[]; tools?: unknown[]; stream?: boolean };
  closedEarly: boolean;
  finished: boolean;
};

export type FakeUpstream = {
  url: string;
  requests: RecordedRequest[];
  /** Queues scripts for the next streamed requests, in order. */
  enqueue(...scripts: Script[]): void;
  /** What requests get when the queue is empty. */
  setDefault(script: Script | ((request: RecordedRequest) => Script)): void;
  /** Resolves when a request's connection closes before its response finished. */
  waitForEarlyClose(timeoutMs?: number): Promise<RecordedRequest>;
  /** With TLS: connections whose client gave up during the handshake (e.g. it did not trust us). */
  handshakeFailures(): number;
  /** Resolves when a response has reached gate `name` (all it had before the gate is written). */
  reached(name: string): Promise<void>;
  /** Lets responses waiting at gate `name` go on. */
  release(name: string): void;
  close(): Promise<void>;
};

export const say = (text: string, delayMs = 0): Script => ({
  steps: text.match(/\S+\s*/g)!.map((word) => ({ text: word, delayMs })),
  finishReason: 'stop',
  usage: { prompt_tokens: 20, completion_tokens: text.split(/\s+/).length },
});

export const callTool = (name: string, args: unknown, id = `call_${Math.random().toString(36).slice(2, 10)}`): Script => ({
  steps: [{ toolCall: { id, name, arguments: JSON.stringify(args) }, splitArguments: 3 }],
  finishReason: 'tool_calls',
  usage: { prompt_tokens: 30, completion_tokens: 12 },
});

/** Answers the way a model with tools would: call find_agent for an agent request, then summarise. */
export function toolAwareScript(request: RecordedRequest): Script {
  const last = request.body.messages.at(-1);
  if (last?.role === 'tool') return say('Here are the agents I found that match what you need.');
  const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  const quoted = text.match(/'([^']+)'/)?.[1];
  if (/find|agent/i.test(text) && request.body.tools?.length) return callTool('find_agent', { query: quoted ?? text });
  if (request.body.stream !== true) return say('Greeting and small talk');
  return say('Hello! I am doing well, thank you for asking. How can I help you today?');
}

/** With `tls`, the upstream speaks HTTPS with that key and certificate. */
export async function startFakeUpstream(options: { tls?: { key: Buffer; cert: Buffer } } = {}): Promise<FakeUpstream> {
  const queue: Script[] = [];
  let fallback: Script | ((request: RecordedRequest) => Script) = toolAwareScript;
  const requests: RecordedRequest[] = [];
  const earlyCloseWaiters: ((request: RecordedRequest) => void)[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const gates = new Map<string, { reached: Promise<void>; arrive: () => void; released: Promise<void>; open: () => void }>();
  const gate = (name: string) => {
    let entry = gates.get(name);
    if (!entry) {
      let arrive = () => {};
      let open = () => {};
      const reached = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<void>((resolve) => (open = resolve));
      entry = { reached, arrive, released, open };
      gates.set(name, entry);
    }
    return entry;
  };

  const handler: RequestListener = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: RecordedRequest['body'];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end('bad json');
      return;
    }
    const record: RecordedRequest = { body, closedEarly: false, finished: false };
    requests.push(record);
    res.on('close', () => {
      if (!record.finished) {
        record.closedEarly = true;
        for (const waiter of earlyCloseWaiters.splice(0)) waiter(record);
      }
    });
    // Queued scripts are for streamed chat calls; background calls (titles, summaries) are not
    // streamed and get the default, so they never take a script a test queued for the chat.
    const queued = body.stream === true ? queue.shift() : undefined;
    const script = queued ?? (typeof fallback === 'function' ? fallback(record) : fallback);
    await play(script, body, res, record, gate);
  };
  const server: Server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
  let handshakeFailures = 0;
  server.on('tlsClientError', () => handshakeFailures++);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...scripts) => queue.push(...scripts),
    setDefault: (script) => {
      fallback = script;
    },
    handshakeFailures: () => handshakeFailures,
    reached: (name) => gate(name).reached,
    release: (name) => gate(name).open(),
    waitForEarlyClose(timeoutMs = 5000) {
      const already = requests.find((request) => request.closedEarly);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no request was closed early')), timeoutMs);
        earlyCloseWaiters.push((request) => {
          clearTimeout(timer);
          resolve(request);
        });
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Gate = (name: string) => { arrive: () => void; released: Promise<void> };

async function play(script: Script, body: RecordedRequest['body'], res: ServerResponse, record: RecordedRequest, gate: Gate) {
  if ('status' in script) {
    res.writeHead(script.status, { 'content-type': 'application/json', ...script.headers });
    res.end(JSON.stringify(script.body ?? { error: { message: `scripted ${script.status}`, type: 'server_error' } }));
    record.finished = true;
    return;
  }
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
  if (body.stream !== true) {
    // A non-streaming call (titles, summaries): the whole script as one completion, once its gates open.
    for (const step of script.steps) {
      if ('gate' in step) {
        const waiting = gate(step.gate);
        waiting.arrive();
        await waiting.released;
      }
    }
    if (res.destroyed) return;
    const text = script.steps.map((step) => ('text' in step ? step.text : '')).join('');
    const usage = script.usage ?? { prompt_tokens: 10, completion_tokens: 10 };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: script.finishReason ?? 'stop' }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
    record.finished = true;
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const created = Math.floor(Date.now() / 1000);
  const send = (delta: unknown, finishReason: string | null = null) =>
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`,
    );

  send({ role: 'assistant', content: '' });
  for (const step of script.steps) {
    if ('hang' in step) return; // silence: never write again, never end
    if ('waitFor' in step) {
      await step.waitFor();
      continue;
    }
    if ('gate' in step) {
      const waiting = gate(step.gate);
      waiting.arrive();
      await waiting.released;
      continue;
    }
    if (step.delayMs) await sleep(step.delayMs);
    if (res.destroyed) return;
    if ('text' in step) send({ content: step.text });
    else if ('raw' in step) res.write(`data: ${step.raw}\n\n`);
    else if ('errorChunk' in step) res.write(`data: ${JSON.stringify({ error: { message: step.errorChunk, code: 502 } })}\n\n`);
    else if ('reset' in step) {
      res.socket?.destroy();
      return;
    } else {
      const { toolCall } = step;
      const parts = splitInto(toolCall.arguments, step.splitArguments ?? 1);
      parts.forEach((part, index) =>
        send({
          tool_calls: [
            index === 0
              ? { index: toolCall.index ?? 0, id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: part } }
              : { index: toolCall.index ?? 0, function: { arguments: part } },
          ],
        }),
      );
    }
  }
  if (script.truncate) {
    record.finished = true;
    res.end();
    return;
  }
  send({}, script.finishReason ?? 'stop');
  if (script.usage !== null) {
    const usage = script.usage ?? { prompt_tokens: 10, completion_tokens: 10 };
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })}\n\n`,
    );
  }
  res.write('data: [DONE]\n\n');
  record.finished = true;
  res.end();
}

function splitInto(text: string, pieces: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / pieces));
  const parts: string[] = [];
  for (let start = 0; start < text.length; start += size) parts.push(text.slice(start, start + size));
  return parts.length > 0 ? parts : [''];
}
