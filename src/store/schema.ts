/** drizzle table definitions; the SQL that creates them lives in ./migrations. */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  date,
  boolean,
  customType,
  integer,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { executionStatuses } from '../api/shapes.js';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const chatSessions = pgTable('chat_sessions', {
  id: uuid('id').primaryKey(),
  userId: text('user_id').notNull(),
  title: text('title'),
  status: text('status', { enum: ['idle', 'running'] })
    .notNull()
    .default('idle'),
  activeRunId: uuid('active_run_id'),
  lastRunStatus: text('last_run_status'),
  summary: text('summary'),
  summaryThroughSeq: integer('summary_through_seq'),
  /** The last message the summary covers: it applies only to a path through that message. */
  summaryThroughId: text('summary_through_id'),
  /** The end of the path the session shows and the model sees (migration 0011); null while empty. */
  activeLeafId: text('active_leaf_id'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});

/** Message ids are the client's and belong to their session: the key is (session_id, id). */
export const chatMessages = pgTable(
  'chat_messages',
  {
    id: text('id').notNull(),
    sessionId: uuid('session_id').notNull(),
    seq: integer('seq').notNull(),
    role: text('role', { enum: ['user', 'assistant', 'system'] }).notNull(),
    /** JSON of the UIMessage parts, or their ciphertext when ENCRYPTION_KEY is set. */
    parts: text('parts').notNull(),
    /** JSON of the message metadata (e.g. usage), sealed like the parts; null when there is none. */
    metadata: text('metadata'),
    runId: uuid('run_id'),
    /** The message this one follows (same session); null for a first message. History is a tree. */
    parentId: text('parent_id'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.sessionId, table.id] })],
);

export const runStatuses = ['running', 'awaiting-approval', 'finished', 'failed', 'stopped', 'interrupted'] as const;
export type RunStatus = (typeof runStatuses)[number];

export const chatRuns = pgTable('chat_runs', {
  id: uuid('id').primaryKey(),
  sessionId: uuid('session_id').notNull(),
  userId: text('user_id').notNull(),
  status: text('status', { enum: runStatuses }).notNull().default('running'),
  reason: text('reason'),
  owner: text('owner').notNull(),
  leaseExpiresAt: timestamptz('lease_expires_at').notNull(),
  /** The partial answer so far (encoded like message parts), for recovery after a crash. */
  checkpoint: text('checkpoint'),
  /** JSON of what the run has spent so far (`RunProgress`), for charging it when its owner is gone. */
  progress: text('progress'),
  startedAt: timestamptz('started_at').notNull().defaultNow(),
  endedAt: timestamptz('ended_at'),
  /** Tokens a running answer may still spend, counted by budget admission until the run ends. */
  reservedTokens: integer('reserved_tokens').notNull().default(0),
  /** The session's active leaf before this run claimed it, restored if the start is undone. */
  previousLeafId: text('previous_leaf_id'),
  /** While `awaiting-approval`: when the unanswered tool calls count as denied and the run ends (migration 0012). */
  approvalExpiresAt: timestamptz('approval_expires_at'),
  /** How many times the run was resumed after approvals; names the event log of its current part. */
  resumes: integer('resumes').notNull().default(0),
  /** How often the run was taken over and continued by another instance (migration 0014). */
  continuations: integer('continuations').notNull().default(0),
  /** When its owner, stopping, handed it on for another instance to continue. */
  releasedAt: timestamptz('released_at'),
});

/** A tool call waiting for (or given) the user's approval; `input` and `reason` are sealed like content. */
export const toolApprovals = pgTable('tool_approvals', {
  id: text('id').primaryKey(),
  runId: uuid('run_id').notNull(),
  sessionId: uuid('session_id').notNull(),
  userId: text('user_id').notNull(),
  toolCallId: text('tool_call_id').notNull(),
  toolName: text('tool_name').notNull(),
  input: text('input').notNull(),
  approved: boolean('approved'),
  reason: text('reason'),
  requestedAt: timestamptz('requested_at').notNull().defaultNow(),
  answeredAt: timestamptz('answered_at'),
  expiresAt: timestamptz('expires_at').notNull(),
});

export const usageEvents = pgTable('usage_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  userId: text('user_id').notNull(),
  sessionId: uuid('session_id'),
  runId: uuid('run_id'),
  kind: text('kind', { enum: ['chat', 'title', 'summary', 'execution'] })
    .notNull()
    .default('chat'),
  model: text('model').notNull(),
  promptTokens: integer('prompt_tokens').notNull(),
  completionTokens: integer('completion_tokens').notNull(),
  totalTokens: integer('total_tokens').notNull(),
  costUsd: numeric('cost_usd', { precision: 14, scale: 8 }),
  estimated: boolean('estimated').notNull().default(false),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const agents = pgTable('agents', {
  slug: text('slug').primaryKey(),
  name: text('name').notNull(),
  subHeading: text('sub_heading').notNull(),
  description: text('description').notNull(),
  creator: text('creator').notNull(),
  categories: text('categories').array().notNull().default(sql`'{}'`),
  runs: integer('runs').notNull().default(0),
  rating: numeric('rating', { precision: 2, scale: 1 }).notNull().default('0'),
  searchText: text('search_text').notNull(),
  searchVector: tsvector('search_vector').notNull(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  /** JSON of the runnable definition (`AgentDefinition`), null for a plain listing (migration 0013). */
  definition: text('definition'),
});

export const libraryAgents = pgTable(
  'library_agents',
  {
    userId: text('user_id').notNull(),
    slug: text('slug').notNull(),
    addedAt: timestamptz('added_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.slug] })],
);

export const feedbackRatings = ['up', 'down'] as const;

export const messageFeedback = pgTable(
  'message_feedback',
  {
    sessionId: uuid('session_id').notNull(),
    messageId: text('message_id').notNull(),
    userId: text('user_id').notNull(),
    rating: text('rating', { enum: feedbackRatings }).notNull(),
    /** The person's comment, sealed like message content; null when they gave none. */
    comment: text('comment'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.sessionId, table.messageId] })],
);

/** Values of this deployment (e.g. the salt of anonymous usage subjects). */
export const autochatSettings = pgTable('autochat_settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/** One row per encryption key content was written with: a known text sealed under it. */
export const keyChecks = pgTable('autochat_key_checks', {
  keyId: text('key_id').primaryKey(),
  /** Null for a key found in data written before key checks existed, until a start that has it. */
  sealedCheck: text('sealed_check'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/** Tokens spent by erased users per UTC day, under a one-way hash of the user id (no identity, no content). */
export const erasedUsage = pgTable(
  'erased_usage',
  {
    subject: text('subject').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    totalTokens: bigint('total_tokens', { mode: 'number' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.subject, table.day] })],
);

export { executionStatuses };
export type ExecutionStatus = (typeof executionStatuses)[number];

/** One run of a store agent (migration 0013); inputs, output and checkpoint are sealed like message content. */
export const agentExecutions = pgTable('agent_executions', {
  id: uuid('id').primaryKey(),
  userId: text('user_id').notNull(),
  slug: text('slug').notNull(),
  agentName: text('agent_name').notNull(),
  inputs: text('inputs').notNull(),
  status: text('status', { enum: executionStatuses }).notNull().default('queued'),
  reason: text('reason'),
  /** The sentence shown when it failed (never a stack or a secret). */
  error: text('error'),
  /** JSON of the output message (a UIMessage), sealed; null until it ends. */
  output: text('output'),
  owner: text('owner').notNull(),
  leaseExpiresAt: timestamptz('lease_expires_at').notNull(),
  checkpoint: text('checkpoint'),
  progress: text('progress'),
  /** The execution's token estimate, held against the budget while it is live (migration 0015). */
  reservedTokens: integer('reserved_tokens').notNull().default(0),
  /** How often another instance took it over and continued it (migration 0016). */
  continuations: integer('continuations').notNull().default(0),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  startedAt: timestamptz('started_at'),
  endedAt: timestamptz('ended_at'),
});

export const schema = {
  agentExecutions,
  chatSessions,
  chatMessages,
  chatRuns,
  usageEvents,
  agents,
  libraryAgents,
  autochatSettings,
  keyChecks,
  erasedUsage,
  messageFeedback,
};
