/**
 * The live stream of a session: POST starts a run for a new message and reads it; GET attaches to the
 * active run (from its first event) on any instance; stop asks the run, wherever it is, to stop.
 * A reader going away never stops a run.
 */
import { Hono } from 'hono';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { sessionIdParam, streamBody, type StreamBody } from '../schemas.js';
import { sseResponse } from '../sse.js';
import { parseWith, readJson } from '../validation.js';

export const streamRoutes = new Hono<AppEnv>()
  .post('/:id/stream', async (c) => {
    const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
    const body = parseWith(streamBody, await readJson(c), 'request body', 'Send {"message": "your text"} (or the AI SDK useChat request body).');
    const { text, messageId } = messageOf(body);
    const { chat, metrics } = c.get('services');
    const started = performance.now();
    const run = await chat.startRun(id, text, { userId: c.get('userId'), messageId });
    metrics.activeStreams.inc();
    return sseResponse((signal) => chat.readRun(run.runId, signal), {
      headers: { 'x-request-id': c.get('requestId'), 'x-run-id': run.runId },
      onFirstContent: () => metrics.timeToFirstToken.observe((performance.now() - started) / 1000),
      onClose: () => metrics.activeStreams.dec(),
    });
  })
  .get('/:id/stream', async (c) => {
    const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
    const { chat, metrics } = c.get('services');
    const runId = await chat.activeRunId(id, c.get('userId'));
    if (!runId || !(await chat.eventLog.exists(runId))) return c.body(null, 204);
    metrics.activeStreams.inc();
    return sseResponse((signal) => chat.readRun(runId, signal), {
      headers: { 'x-request-id': c.get('requestId'), 'x-run-id': runId },
      onClose: () => metrics.activeStreams.dec(),
    });
  })
  .post('/:id/stop', async (c) => {
    const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
    const stopped = await c.get('services').chat.stopRun(id, c.get('userId'));
    return c.json({ stopped });
  });

function messageOf(body: StreamBody): { text: string; messageId?: string } {
  if ('message' in body && typeof body.message === 'string') return { text: body.message, messageId: body.messageId as string | undefined };
  if (!('messages' in body) || !Array.isArray(body.messages)) throw new ChatError('invalid_request', 'Send {"message": "text"}.');
  if (body.trigger === 'regenerate-message') {
    throw new ChatError('invalid_request', 'Regenerating an answer is not supported; send the message again instead.');
  }
  const last = [...body.messages].reverse().find((message) => message.role === 'user');
  if (!last) throw new ChatError('invalid_request', 'The messages contain no user message to answer.');
  const text = last.parts
    .map((part) => {
      const text: unknown = part.text;
      return part.type === 'text' && typeof text === 'string' ? text : '';
    })
    .join('');
  return { text, messageId: typeof last.id === 'string' ? last.id : undefined };
}
