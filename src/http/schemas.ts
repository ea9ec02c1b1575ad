/**
 * Request and response shapes of the HTTP API. The request shapes validate what clients send; all of
 * them describe the API in the OpenAPI document, where `apiShapes` names the shared ones (components)
 * and says what a field means.
 */
import { z } from 'zod';
import { errorStatus, type ErrorCode } from '../errors.js';
import { agentSlug } from '../store/agent-slug.js';
import { searchQueryText } from '../store/search-query.js';

/** Names (`id`, a component of the OpenAPI document) and descriptions of the shapes below. */
export const apiShapes = z.registry<{ id?: string; description?: string }>();

/** Registers `schema` in `apiShapes` and returns it. */
function documented<T extends z.ZodType>(schema: T, meta: { id?: string; description?: string }): T {
  apiShapes.add(schema, meta);
  return schema;
}

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

// Responses

export const isoTime = z.iso.datetime();

export const tokenUsage = documented(
  z.object({
    promptTokens: z.int().nonnegative(),
    completionTokens: z.int().nonnegative(),
    totalTokens: z.int().nonnegative(),
    costUsd: z.number().nonnegative().optional(),
  }),
  { id: 'TokenUsage', description: 'Tokens of one answer; `costUsd` when the upstream reports a cost.' },
);

export const usageEntry = documented(
  z.object({
    promptTokens: z.int().nonnegative(),
    completionTokens: z.int().nonnegative(),
    totalTokens: z.int().nonnegative(),
    model: z.string(),
    costUsd: z.number().nonnegative().optional(),
    createdAt: isoTime,
    kind: z.enum(['chat', 'title', 'summary', 'execution']),
    estimated: documented(z.literal(true).optional(), {
      description: 'Present when the upstream reported no counts (a call cut short) and they were estimated.',
    }),
  }),
  { id: 'UsageEntry', description: 'One upstream LLM call.' },
);

const feedbackFields = {
  rating: z.enum(['up', 'down']),
  comment: z.string().optional(),
  updatedAt: isoTime,
};

const messageMetadata = z
  .object({
    createdAt: isoTime.optional(),
    sessionId: z.uuid().optional(),
    usage: tokenUsage.optional(),
    feedback: z.object(feedbackFields).optional(),
    continuations: documented(z.int().positive().optional(), {
      description: 'Present when the answer was continued on another instance after its own stopped mid-answer: how many times.',
    }),
  })
  .loose();

export const chatMessage = documented(
  z.object({
    id: z.string(),
    role: z.enum(['system', 'user', 'assistant']),
    parts: z.array(z.object({ type: z.string() }).loose()),
    metadata: messageMetadata.optional(),
    parentId: documented(z.string().nullable().optional(), { description: 'The message this one follows; null for a first message.' }),
    siblingIds: documented(z.array(z.string()).optional(), {
      description: 'The messages with the same parent (other versions), this one included, oldest first.',
    }),
    branch: documented(z.object({ index: z.int().nonnegative(), count: z.int().positive() }).optional(), {
      description: 'This message’s position among its siblings (`index` from 0) and their number, to show “‹ 2/3 ›”.',
    }),
  }),
  { id: 'ChatMessage', description: 'An AI SDK `UIMessage`, tool calls included, with its place in the session’s tree of versions.' },
);

export const sessionSummaryResponse = documented(
  z.object({
    sessionId: z.uuid(),
    userId: z.string(),
    title: z.string().nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
    status: z.enum(['idle', 'running']),
    lastRunStatus: z.enum(['finished', 'failed', 'stopped', 'interrupted']).nullable(),
  }),
  { id: 'SessionSummary', description: 'A chat session without its history.' },
);

/** A tool call of the last answer waiting for the user's approval (POST …/approvals/{approvalId} answers it). */
export const pendingApproval = documented(
  z.object({
    approvalId: z.string(),
    toolCallId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
    expiresAt: isoTime,
    approved: z.boolean().optional(),
  }),
  {
    id: 'PendingApproval',
    description: "A tool call waiting for the user's approval; `approved` once answered (the answer goes on when every call is).",
  },
);

export const sessionResponse = documented(
  sessionSummaryResponse.extend({
    messages: z.array(chatMessage),
    usage: z.array(usageEntry),
    pendingApprovals: z.array(pendingApproval).optional(),
  }),
  {
    id: 'Session',
    description:
      'A chat session with its messages and the usage of every upstream call; `pendingApprovals` while its last answer waits for tool approvals.',
  },
);

export const sessionExportResponse = sessionResponse.extend({
  otherMessages: documented(z.array(chatMessage), {
    description: 'The versions the chat does not show (earlier edits and answers), each with its `parentId`, in the order stored.',
  }),
});

export const sessionListResponse = z.object({ sessions: z.array(sessionSummaryResponse), nextCursor: z.string().nullable() });

export const stopResponse = z.object({
  stopped: documented(z.boolean(), { description: 'Whether a run was active and was asked to stop.' }),
});

export const feedbackResponse = documented(z.object({ messageId: z.string(), ...feedbackFields }), {
  id: 'Feedback',
  description: 'Feedback on an answer, as stored.',
});

const usageWindow = z.object({ used: z.int().nonnegative(), limit: z.int().nonnegative(), resetsAt: isoTime });
export const usageResponse = documented(z.object({ daily: usageWindow, weekly: usageWindow }), {
  id: 'TokenBudgets',
  description: 'Tokens used in the current UTC day and ISO week, the limits (`0` = none) and when each resets.',
});

export const agentResponse = documented(
  z.object({
    slug: z.string(),
    name: z.string(),
    subHeading: z.string(),
    description: z.string(),
    creator: z.string(),
    categories: z.array(z.string()),
    runs: z.int().nonnegative(),
    rating: z.number().min(0).max(5),
  }),
  { id: 'Agent', description: 'An agent of the store.' },
);
export const agentMatchResponse = documented(agentResponse.extend({ score: z.number() }), {
  id: 'AgentMatch',
  description: 'A search result; a higher score is a better match.',
});
export const libraryEntryResponse = documented(agentResponse.extend({ addedAt: isoTime }), {
  id: 'LibraryEntry',
  description: 'An agent in the caller’s library.',
});

export const agentSearchResponse = z.object({ agents: z.array(agentMatchResponse) });
export const libraryResponse = z.object({ agents: z.array(libraryEntryResponse) });

export const userExportResponse = z.object({
  userId: z.string(),
  exportedAt: isoTime,
  sessions: z.array(
    sessionResponse.extend({
      activeLeafId: documented(z.string().nullable(), {
        description: 'The end of the path the chat shows; `messages` holds every branch.',
      }),
    }),
  ),
  usage: z.array(usageEntry.extend({ sessionId: z.uuid().nullable() })),
  feedback: z.array(z.object({ sessionId: z.uuid(), messageId: z.string(), ...feedbackFields })),
  library: z.array(libraryEntryResponse),
  toolApprovals: z.array(
    pendingApproval.extend({
      runId: z.uuid(),
      sessionId: z.uuid(),
      reason: z.string().optional(),
      requestedAt: isoTime,
      answeredAt: isoTime.optional(),
    }),
  ),
});

export const infoResponse = z.object({
  version: z.string(),
  demoModel: z.boolean(),
  model: z.string(),
  authRequired: z.boolean(),
  maxMessageChars: z.int().positive(),
});

export const healthResponse = z.object({ status: z.literal('ok') });

const readinessChecks = z.object({ accepting: z.boolean(), database: z.boolean(), redis: z.boolean().optional() });
export const readyResponse = z.object({ status: z.literal('ready'), checks: readinessChecks });
export const notReadyResponse = z.object({
  status: z.literal('unavailable'),
  checks: readinessChecks,
  down: documented(z.array(z.enum(['database', 'redis'])), {
    description: 'The backing services that do not answer; empty while shutting down.',
  }),
  reason: z.string(),
});

/** The error shape; `codes` narrows `code` to those of one status. */
export const errorResponse = (codes: readonly ErrorCode[] = Object.keys(errorStatus) as ErrorCode[]) =>
  z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: documented(z.string(), { description: 'What went wrong, for a person; never a stack, key or content.' }),
      requestId: z.string(),
    }),
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
