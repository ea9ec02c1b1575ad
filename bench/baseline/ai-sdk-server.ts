/**
 * The peer baseline: the smallest streaming chat server the AI SDK allows — a plain Node HTTP server
 * whose one route answers `{"message": "text"}` with `streamText(...).toUIMessageStreamResponse()`.
 * No sessions, no persistence, no resumable log, no auth, no limits. Configured from the environment
 * (`LLM_BASE_URL`, `PORT`, `HOST`), started the same way as the autochat bench server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import { announce } from '../support/processes.js';

const baseURL = process.env.LLM_BASE_URL;
if (!baseURL) throw new Error('LLM_BASE_URL is required');
// Built once, as any real server would (and as autochat does): a model per request would cost the
// baseline ≈90 KiB and some CPU per stream for its own copy of the chunk schema.
const model = createOpenAICompatible({ name: 'upstream', baseURL, apiKey: 'bench', includeUsage: true }).chatModel('m');

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.parse(await readBody(req)) as { message?: unknown };
  if (typeof body.message !== 'string') {
    res.writeHead(400).end();
    return;
  }
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  const response = streamText({
    model,
    messages: [{ role: 'user', content: body.message }],
    abortSignal: abort.signal,
  }).toUIMessageStreamResponse();

  // The same Response → Node conversion every Fetch-style server does (Hono's node adapter included).
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  } catch {
    res.destroy();
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.requestTimeout = 0;
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
announce(`http://127.0.0.1:${port}`);
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
