/**
 * The shapes of what the HTTP API answers (docs/api.md), defined once in zod: the server's routes
 * describe their responses with them (and the OpenAPI document is generated from those), the
 * terminal client parses with them, and the web UI takes their inferred types. A leaf: it imports
 * nothing of autochat but the error codes, so the browser bundle can import its types.
 */
import { z } from 'zod';
import { errorCodes, type ErrorCode } from './error-codes.js';

/** Names (`id`, a component of the OpenAPI document) and descriptions of the shapes of the API. */
export const apiShapes = z.registry<{ id?: string; description?: string }>();

/** Registers `schema` in `apiShapes` and returns it. */
export function documented<T extends z.ZodType>(schema: T, meta: { id?: string; description?: string }): T {
  apiShapes.add(schema, meta);
  return schema;
}

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

export const messageMetadata = z
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

export const usageWindow = z.object({ used: z.int().nonnegative(), limit: z.int().nonnegative(), resetsAt: isoTime });
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
export const errorResponse = (codes: readonly ErrorCode[] = errorCodes) =>
  z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: documented(z.string(), { description: 'What went wrong, for a person; never a stack, key or content.' }),
      requestId: z.string(),
    }),
  });

// Agent executions (routes/executions.ts)

/** An execution's states; the `agent_executions.status` column takes the same list. */
export const executionStatuses = ['queued', 'running', 'finished', 'failed', 'stopped', 'interrupted'] as const;

export const executionStatus = documented(z.enum(executionStatuses), {
  id: 'ExecutionStatus',
  description: '`queued` → `running` → `finished`, `failed`, `stopped` or `interrupted` (its server died; what it wrote is kept).',
});

export const startedExecutionResponse = documented(z.object({ executionId: z.uuid(), status: executionStatus }), {
  id: 'StartedExecution',
  description: 'An execution that was accepted; follow it at `/api/executions/{executionId}/stream`.',
});

export const executionResponse = documented(
  z.object({
    executionId: z.uuid(),
    slug: z.string(),
    agentName: z.string(),
    status: executionStatus,
    inputs: z.record(z.string(), z.unknown()),
    output: chatMessage.optional(),
    error: documented(z.string().optional(), { description: 'Why it failed or was cut short, in a sentence.' }),
    usage: tokenUsage.optional(),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    endedAt: isoTime.nullable(),
  }),
  { id: 'Execution', description: "One run of an agent for the caller; `output` (the agent's answer) once it has one." },
);

export const executionListResponse = z.object({ executions: z.array(executionResponse), nextCursor: z.string().nullable() });

// The inferred types, for code that reads the API without parsing (the web UI).

export type TokenUsage = z.infer<typeof tokenUsage>;
export type UsageEntry = z.infer<typeof usageEntry>;
export type MessageMetadata = z.infer<typeof messageMetadata>;
export type ApiChatMessage = z.infer<typeof chatMessage>;
export type SessionSummary = z.infer<typeof sessionSummaryResponse>;
export type PendingApproval = z.infer<typeof pendingApproval>;
export type Session = z.infer<typeof sessionResponse>;
export type SessionPage = z.infer<typeof sessionListResponse>;
export type Feedback = z.infer<typeof feedbackResponse>;
export type TokenBudgets = z.infer<typeof usageResponse>;
export type Agent = z.infer<typeof agentResponse>;
export type AgentMatch = z.infer<typeof agentMatchResponse>;
export type LibraryEntry = z.infer<typeof libraryEntryResponse>;
export type ServerInfo = z.infer<typeof infoResponse>;
export type ErrorBody = z.infer<ReturnType<typeof errorResponse>>;
export type ExecutionStatus = z.infer<typeof executionStatus>;
export type Execution = z.infer<typeof executionResponse>;
export type ExecutionPage = z.infer<typeof executionListResponse>;
export type StartedExecution = z.infer<typeof startedExecutionResponse>;
