/**
 * The AI SDK's default chat routes, so `useChat` works with no options but `api`:
 * `POST /api/chat` answers the last user message of the body (its `id` names the chat, created on
 * its first message) and `GET /api/chat/{id}/stream` resumes it (`useChat({ resume: true })`).
 * The same runs, sessions and errors as `/api/chat/sessions/{id}/stream`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineRoute } from '../route-definition.js';
import { useChatBody } from '../schemas.js';
import { parseWith } from '../validation.js';
import { answerStream, readStreamBody, resumeAnswer, streamAnswer } from './stream.js';

const chatId = z.string().min(1, 'the chat id is empty').max(200, 'a chat id is at most 200 characters');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The namespace of session ids made from client chat ids (a random UUID, fixed for all time). */
const CHAT_ID_NAMESPACE = Buffer.from('3c1d5a2e9b7f4e6a8d0c2b4a6f8e1d3c', 'hex');

/**
 * The session of a client's chat id: a UUID is the session id itself; any other id (useChat makes
 * short random ones) names a session through a name-based UUID (RFC 9562, version 5) of the user and
 * the id, so the same chat id always finds the same session, and two users' ids never meet.
 */
export function sessionIdOf(userId: string, id: string): string {
  if (UUID.test(id)) return id.toLowerCase();
  const hash = createHash('sha1').update(CHAT_ID_NAMESPACE).update(`${userId}\u0000${id}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const aiSdkChatRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/chat',
    operationId: 'sendChatMessage',
    summary: "The AI SDK's default chat route: answers the last user message of the useChat body",
    description:
      'The body’s `id` names the chat: a session UUID is that session; any other id names a session of the caller derived from it, created with its first message.',
    tags: ['stream'],
    security: ['bearer'],
    request: { body: { schema: useChatBody.extend({ id: chatId }), required: true, description: 'The AI SDK `useChat` request body.' } },
    responses: { 200: answerStream('The answer, as it is generated.') },
    errors: [400, 404, 409, 413, 429, 503],
    handler: async (c) => {
      const body = await readStreamBody(c);
      const id = parseWith(
        chatId,
        'id' in body ? body.id : undefined,
        'request body (id)',
        'Send the useChat body: {"id", "messages", …}.',
      );
      const userId = c.get('userId');
      const sessionId = sessionIdOf(userId, id);
      const { chat } = c.get('services');
      const created = await chat.openChatSession(sessionId, userId);
      try {
        return await streamAnswer(c, sessionId, body);
      } catch (error) {
        // A refused first message leaves no empty chat behind.
        if (created) await chat.deleteChatSession(sessionId, userId).catch(() => undefined);
        throw error;
      }
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/chat/{id}/stream',
    operationId: 'resumeChat',
    summary: "The AI SDK's default resume route (useChat({ resume: true })): the chat's active run from its first event, then live",
    tags: ['stream'],
    security: ['bearer'],
    request: { params: z.object({ id: chatId }) },
    responses: { 200: answerStream('The active run, from its first event.'), 204: { description: 'No run is active.' } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const id = parseWith(chatId, c.req.param('id'), 'chat id');
      return resumeAnswer(c, sessionIdOf(c.get('userId'), id));
    },
  }),
];
