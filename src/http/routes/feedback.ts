/** Feedback on an answer: thumbs up or down with an optional comment, set again to change it. */
import { defineRoute } from '../route-definition.js';
import { feedbackBody, feedbackResponse, messageParams } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

export const feedbackRoutes = [
  defineRoute({
    method: 'put',
    path: '/api/chat/sessions/{id}/messages/{messageId}/feedback',
    operationId: 'setFeedback',
    summary: 'Give feedback on an answer (thumbs up or down, optional comment); giving it again replaces it',
    tags: ['sessions'],
    security: ['bearer'],
    request: { params: messageParams, body: { schema: feedbackBody, required: true } },
    responses: { 200: { description: 'The feedback as stored.', content: { 'application/json': feedbackResponse } } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id, messageId } = parseWith(messageParams, c.req.param(), 'path');
      const body = parseWith(feedbackBody, await readJson(c), 'request body', 'Send {"rating": "up" | "down", "comment"?: "…"}.');
      const stored = await c.get('services').chat.setFeedback(id, c.get('userId'), messageId, body);
      return c.json({ messageId, ...stored });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api/chat/sessions/{id}/messages/{messageId}/feedback',
    operationId: 'clearFeedback',
    summary: 'Withdraw feedback on an answer',
    tags: ['sessions'],
    security: ['bearer'],
    request: { params: messageParams },
    responses: { 204: { description: 'No feedback remains (whether or not there was any).' } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id, messageId } = parseWith(messageParams, c.req.param(), 'path');
      await c.get('services').chat.clearFeedback(id, c.get('userId'), messageId);
      return c.body(null, 204);
    },
  }),
];
