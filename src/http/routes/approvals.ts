/**
 * Answering a tool approval without the AI SDK client: `POST /api/chat/sessions/{id}/approvals/{approvalId}`.
 * When it is the last answer the run waited for, the run resumes on this instance; its continuation is
 * read with `GET /api/chat/sessions/{id}/stream`. (`useChat` answers through the stream route instead.)
 */
import { z } from 'zod';
import { defineRoute } from '../route-definition.js';
import { sseResponse } from '../sse.js';
import { answerStream } from './stream.js';
import { apiShapes, pendingApproval } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

const approvalParams = z.object({
  id: z.uuid({ message: 'The session id must be a UUID.' }),
  approvalId: z.string().regex(/^[\w-]{1,100}$/, 'an approval id is 1–100 letters, digits, _ or -'),
});

const approvalBody = z.strictObject({
  approved: z.boolean({ message: 'approved must be true or false' }),
  reason: z.string().max(2000, 'a reason is at most 2,000 characters').optional(),
});

const approvalResponse = pendingApproval.omit({ expiresAt: true }).extend({
  approved: z.boolean(),
  reason: z.string().optional(),
  resumed: z.boolean(),
});
apiShapes.add(approvalResponse, {
  id: 'ApprovalAnswer',
  description: 'The answer as stored; `resumed` when it was the last one the answer waited for and it goes on (read it with GET …/stream).',
});

export const approvalRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/chat/sessions/{id}/approvals/{approvalId}',
    operationId: 'answerToolApproval',
    summary: 'Approve or deny a tool call the answer waits for',
    description:
      'Body `{"approved": true|false, "reason"?: "…"}`. A denied call is shown to the model as denied. Answering an approval again changes nothing. The continuation streams on `GET /api/chat/sessions/{id}/stream`, or in this response when the request accepts `text/event-stream` and the answer goes on.',
    tags: ['stream'],
    security: ['bearer'],
    request: { params: approvalParams, body: { schema: approvalBody, required: true } },
    responses: {
      200: {
        description:
          'The answer as stored; or, with `Accept: text/event-stream` when the answer goes on, its continuation as a stream (see docs/api.md, "The stream format").',
        content: { 'application/json': approvalResponse, 'text/event-stream': answerStream('').content!['text/event-stream']! },
      },
    },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id, approvalId } = parseWith(approvalParams, c.req.param(), 'path');
      const body = parseWith(
        approvalBody,
        await readJson(c),
        'request body',
        'Send {"approved": true} or {"approved": false, "reason": "…"}.',
      );
      const { chat, metrics } = c.get('services');
      const result = await chat.answerApproval(id, c.get('userId'), approvalId, body);
      const { approval, resumed } = result;
      if (resumed && (c.req.header('accept') ?? '').includes('text/event-stream')) {
        metrics.activeStreams.inc();
        return sseResponse((signal) => chat.readRun(resumed, signal), {
          headers: { 'x-request-id': c.get('requestId'), 'x-run-id': result.runId },
          onClose: () => metrics.activeStreams.dec(),
        });
      }
      return c.json({
        approvalId: approval.approvalId,
        toolCallId: approval.toolCallId,
        toolName: approval.toolName,
        input: approval.input,
        approved: approval.approved === true,
        ...(approval.reason === undefined ? {} : { reason: approval.reason }),
        resumed: result.resumed !== undefined,
      });
    },
  }),
];
