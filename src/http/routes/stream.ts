/**
 * The live stream of a session: POST starts a run for a new message and reads it; GET attaches to the
 * active run (from its first event) on any instance; stop asks the run, wherever it is, to stop.
 * A reader going away never stops a run.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-context.js';
import { defineRoute, type ResponseDefinition } from '../route-definition.js';
import { runRequestOf } from '../run-request.js';
import { sessionIdParam, stopResponse, streamBody, type StreamBody } from '../schemas.js';
import { sseResponse } from '../sse.js';
import { parseWith, readJson } from '../validation.js';

/** Reads the request body of a stream request: `{message}`, or the AI SDK `useChat` body. */
export async function readStreamBody(c: Context<AppEnv>): Promise<StreamBody> {
  return parseWith(streamBody, await readJson(c), 'request body', 'Send {"message": "your text"} (or the AI SDK useChat request body).');
}

/** Starts a run answering the body's message in the session, and streams it. */
export async function streamAnswer(c: Context<AppEnv>, sessionId: string, body: StreamBody): Promise<Response> {
  const { chat, metrics } = c.get('services');
  // useChat after addToolApprovalResponse: the last message is the answer, its tool calls answered.
  const resumed = await answeredApprovals(c, sessionId, body);
  if (resumed) {
    metrics.activeStreams.inc();
    return sseResponse((signal) => chat.readRun(resumed, signal), {
      headers: { 'x-request-id': c.get('requestId'), 'x-run-id': resumed.split('.')[0]! },
      onClose: () => metrics.activeStreams.dec(),
    });
  }
  const request = runRequestOf(body);
  const started = performance.now();
  const userId = c.get('userId');
  const run =
    request.kind === 'regenerate'
      ? await chat.regenerateRun(sessionId, { userId, messageId: request.messageId })
      : await chat.startRun(sessionId, request.text, {
          userId,
          messageId: request.messageId,
          parentId: request.parentId,
          shownIds: request.shownIds,
        });
  metrics.activeStreams.inc();
  return sseResponse((signal) => chat.readRun(run.runId, signal), {
    headers: { 'x-request-id': c.get('requestId'), 'x-run-id': run.runId },
    onFirstContent: () => metrics.timeToFirstToken.observe((performance.now() - started) / 1000),
    onClose: () => metrics.activeStreams.dec(),
  });
}

/** Attaches to the session's active run from its first event; 204 when nothing runs. */
export async function resumeAnswer(c: Context<AppEnv>, sessionId: string): Promise<Response> {
  const { chat, eventLog, metrics } = c.get('services');
  const logId = await chat.activeLogId(sessionId, c.get('userId'));
  if (!logId || !(await eventLog.exists(logId))) return c.body(null, 204);
  metrics.activeStreams.inc();
  return sseResponse((signal) => chat.readRun(logId, signal), {
    headers: { 'x-request-id': c.get('requestId'), 'x-run-id': logId.split('.')[0]! },
    onClose: () => metrics.activeStreams.dec(),
  });
}

/** A stream of UI-message events, as the document describes it. */
export const answerStream = (description: string): ResponseDefinition => ({
  description: `${description} Each event is \`data: <JSON UIMessageChunk>\`; the stream ends with \`data: [DONE]\` (see docs/api.md, "The stream format").`,
  content: { 'text/event-stream': z.string() },
  headers: ['x-run-id', 'x-vercel-ai-ui-message-stream'],
});

export const streamRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/chat/sessions/{id}/stream',
    operationId: 'streamAnswer',
    summary: 'Send a message and stream the answer',
    description:
      'Body `{"message": "…"}` (with `"parentId"` to branch from an earlier message: an edit), or the AI SDK `useChat` default body, whose last user message is the message; its `trigger: "regenerate-message"` answers the question of `messageId` (default: the last answer) again, keeping the earlier answer as a sibling.',
    tags: ['stream'],
    security: ['bearer'],
    request: { params: sessionIdParam, body: { schema: streamBody, required: true } },
    responses: { 200: answerStream('The answer, as it is generated.') },
    errors: [400, 404, 409, 413, 429, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      return streamAnswer(c, id, await readStreamBody(c));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/chat/sessions/{id}/stream',
    operationId: 'resumeAnswer',
    summary: 'Resume: the active run from its first event, then live',
    tags: ['stream'],
    security: ['bearer'],
    request: { params: sessionIdParam },
    responses: { 200: answerStream('The active run, from its first event.'), 204: { description: 'No run is active.' } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      return resumeAnswer(c, id);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/chat/sessions/{id}/stop',
    operationId: 'stopAnswer',
    summary: 'Stop the active run (its partial answer is stored)',
    tags: ['stream'],
    security: ['bearer'],
    request: { params: sessionIdParam },
    responses: { 200: { description: 'Whether a run was stopped.', content: { 'application/json': stopResponse } } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(sessionIdParam, c.req.param(), 'session id');
      const stopped = await c.get('services').chat.stopRun(id, c.get('userId'));
      return c.json({ stopped });
    },
  }),
];

/** The event log of the run a useChat body resumes by answering tool approvals, or undefined. */
async function answeredApprovals(c: Context<AppEnv>, sessionId: string, body: StreamBody): Promise<string | undefined> {
  if (!('messages' in body) || !Array.isArray(body.messages) || body.messages.at(-1)?.role !== 'assistant') return undefined;
  const messages = body.messages.map((message) => ({ role: message.role, parts: message.parts as Record<string, unknown>[] }));
  return c.get('services').chat.answerApprovalsFromMessages(sessionId, c.get('userId'), messages);
}
