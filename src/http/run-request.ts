/**
 * What a stream request asks for, read from its body: a new message (with where it goes in the
 * session's tree) or a regenerated answer. The plain body says it outright (`parentId`); a `useChat`
 * body says it through its trigger and the messages it shows (docs/api.md, "Branches").
 */
import { ChatError } from '../errors.js';
import type { StreamBody } from './schemas.js';

export type RunRequestOfBody =
  | { kind: 'message'; text: string; messageId?: string; parentId?: string | null; shownIds?: string[] }
  | { kind: 'regenerate'; messageId?: string };

export function runRequestOf(body: StreamBody): RunRequestOfBody {
  if ('message' in body && typeof body.message === 'string') {
    return {
      kind: 'message',
      text: body.message,
      messageId: body.messageId as string | undefined,
      parentId: body.parentId as string | null | undefined,
    };
  }
  if (!('messages' in body) || !Array.isArray(body.messages)) throw new ChatError('invalid_request', 'Send {"message": "text"}.');
  const lastUserIndex = body.messages.findLastIndex((message) => message.role === 'user');
  const last = body.messages[lastUserIndex];
  if (body.trigger === 'regenerate-message') {
    // `messageId` names the answer to replace; useChat leaves it out for the last one, and then
    // sends the history up to the question it answered.
    const messageId = typeof body.messageId === 'string' ? body.messageId : typeof last?.id === 'string' ? last.id : undefined;
    return { kind: 'regenerate', messageId };
  }
  if (!last) throw new ChatError('invalid_request', 'The messages contain no user message to answer.');
  const text = last.parts
    .map((part) => {
      const text: unknown = part.text;
      return part.type === 'text' && typeof text === 'string' ? text : '';
    })
    .join('');
  const shownIds = body.messages
    .slice(0, lastUserIndex)
    .map((message) => message.id)
    .filter((id): id is string => typeof id === 'string');
  return { kind: 'message', text, messageId: typeof last.id === 'string' ? last.id : undefined, shownIds };
}
