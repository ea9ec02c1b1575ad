/** Feedback on an answer: thumbs up or down with an optional comment, set again to change it. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-context.js';
import { feedbackBody, messageParams } from '../schemas.js';
import { parseWith, readJson } from '../validation.js';

export const feedbackRoutes = new Hono<AppEnv>()
  .put('/:id/messages/:messageId/feedback', async (c) => {
    const { id, messageId } = parseWith(messageParams, c.req.param(), 'path');
    const body = parseWith(feedbackBody, await readJson(c), 'request body', 'Send {"rating": "up" | "down", "comment"?: "…"}.');
    const stored = await c.get('services').chat.setFeedback(id, c.get('userId'), messageId, body);
    return c.json({ messageId, ...stored });
  })
  .delete('/:id/messages/:messageId/feedback', async (c) => {
    const { id, messageId } = parseWith(messageParams, c.req.param(), 'path');
    await c.get('services').chat.clearFeedback(id, c.get('userId'), messageId);
    return c.body(null, 204);
  });
