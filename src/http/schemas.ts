/**
 * Request shapes of the HTTP API, which validate what clients send, and the server-only shapes of
 * `/mcp`; the response shapes the clients share live in api/shapes.ts and are re-exported here. All
 * of them describe the API in the OpenAPI document, where `apiShapes` names the shared ones
 * (components) and says what a field means.
 */
import { z } from 'zod';
import { documented } from '../api/shapes.js';
import { agentSlug } from '../store/agent-slug.js';
import { searchQueryText } from '../store/search-query.js';

export * from '../api/shapes.js';

// Requests

export const sessionIdParam = z.object({
  id: documented(z.uuid({ message: 'The session id must be a UUID.' }), { description: 'The session id.' }),
});

/** A page size from 1 to `max`, with a sentence for anything else (text, fractions, huge numbers). */
const pageSize = (max: number, fallback: number) => {
  const error = `limit must be a whole number from 1 to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(1, { error }).max(max, { error }).default(fallback);
};

export const listSessionsQuery = z.object({
  limit: documented(pageSize(100, 20), { description: 'Sessions per page.' }),
  cursor: documented(z.string().max(200).optional(), { description: 'The `nextCursor` of the previous page, as it came.' }),
});

/** `POST /api/chat/sessions` needs no body; one that is sent must be an empty JSON object. */
export const createSessionBody = z.strictObject({});

const uiMessage = z
  .object({
    id: z.string().optional(),
    role: z.enum(['user', 'assistant', 'system']),
    parts: z.array(z.object({ type: z.string() }).loose()),
  })
  .loose();

/** The AI SDK `useChat` default body: its last user message is the message. */
export const useChatBody = z
  .object({
    id: z.string().optional(),
    messages: z.array(uiMessage).min(1),
    trigger: z.enum(['submit-message', 'regenerate-message']).optional(),
    messageId: z.string().optional(),
  })
  .loose();

/** `{ message }`, or the AI SDK `useChat` default body whose last user message is the message. */
export const streamBody = z.union([
  z.strictObject({
    message: z.string({ message: 'message must be a string' }),
    messageId: z.string().max(100).optional(),
    parentId: documented(z.string().max(100, 'parentId is at most 100 characters').nullable().optional(), {
      description:
        'Branch from this message of the session (an edit); `null` starts a new first message; absent continues the active path.',
    }),
  }),
  useChatBody,
]);
export type StreamBody = z.infer<typeof streamBody>;

export const messageParams = z.object({
  id: z.uuid({ message: 'The session id must be a UUID.' }),
  messageId: documented(z.string().regex(/^[\w-]{1,100}$/, 'a message id is 1–100 letters, digits, _ or -'), {
    description: 'The id of an answer in the session.',
  }),
});

export const activeLeafBody = z.strictObject({
  messageId: documented(z.string().regex(/^[\w-]{1,100}$/, 'messageId is 1–100 letters, digits, _ or -'), {
    description: 'A message of the session; the latest message under it becomes the end of the active path.',
  }),
});

export const feedbackBody = z.strictObject({
  rating: z.enum(['up', 'down'], { message: 'rating must be "up" or "down"' }),
  comment: z.string().max(2000, 'a comment is at most 2,000 characters').optional(),
});

export const sessionExportQuery = z.object({
  format: documented(z.enum(['md', 'json'], { message: 'format must be "md" or "json"' }).default('md'), {
    description: 'Markdown to read (`md`) or the session object (`json`).',
  }),
});

export const librarySlugBody = z.strictObject({ slug: agentSlug });
export const librarySlugParam = z.object({ slug: agentSlug });
export const storeQuery = z.object({
  q: documented(searchQueryText().default(''), { description: 'What to look for; empty lists the most-run agents.' }),
  limit: documented(pageSize(50, 10), { description: 'Agents to return.' }),
});

// MCP (JSON-RPC 2.0 over streamable HTTP)

const jsonRpcId = z.union([z.string(), z.int()]);

export const mcpRequestBody = documented(
  z.union([
    z
      .object({
        jsonrpc: z.literal('2.0'),
        id: jsonRpcId.optional(),
        method: z.string().optional(),
        params: z.record(z.string(), z.unknown()).optional(),
      })
      .loose(),
    z.array(z.object({ jsonrpc: z.literal('2.0') }).loose()).min(1),
  ]),
  { description: 'A JSON-RPC message (a request, or a notification without `id`), or a batch of them.' },
);

export const jsonRpcResult = documented(z.object({ jsonrpc: z.literal('2.0'), id: jsonRpcId, result: z.record(z.string(), z.unknown()) }), {
  id: 'JsonRpcResult',
  description: 'A JSON-RPC 2.0 result.',
});

export const jsonRpcError = documented(
  z.object({
    jsonrpc: z.literal('2.0'),
    id: jsonRpcId.nullable(),
    error: z.object({ code: z.int(), message: z.string(), data: z.unknown().optional() }),
  }),
  { id: 'JsonRpcError', description: 'A JSON-RPC 2.0 error; `id` is null when the message could not be read.' },
);

export const mcpResponse = z.union([jsonRpcResult, jsonRpcError, z.array(z.union([jsonRpcResult, jsonRpcError])).min(1)]);
