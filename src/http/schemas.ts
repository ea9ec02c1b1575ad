/** Request and response shapes of the HTTP API: they validate requests and generate the OpenAPI document. */
import { z } from 'zod';
import { errorStatus, type ErrorCode } from '../errors.js';
import { agentSlug } from '../store/agent-slug.js';
import { searchQueryText } from '../store/search-query.js';

export const sessionIdParam = z.object({ id: z.uuid({ message: 'The session id must be a UUID.' }) });

/** A page size from 1 to `max`, with a sentence for anything else (text, fractions, huge numbers). */
const pageSize = (max: number, fallback: number) => {
  const error = `limit must be a whole number from 1 to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(1, { error }).max(max, { error }).default(fallback);
};

export const listSessionsQuery = z.object({
  limit: pageSize(100, 20),
  cursor: z.string().max(200).optional(),
});

const uiMessage = z
  .object({ id: z.string().optional(), role: z.enum(['user', 'assistant', 'system']), parts: z.array(z.object({ type: z.string() }).loose()) })
  .loose();

/** `{ message }`, or the AI SDK `useChat` default body whose last user message is the message. */
export const streamBody = z.union([
  z.strictObject({ message: z.string({ message: 'message must be a string' }), messageId: z.string().max(100).optional() }),
  z
    .object({
      id: z.string().optional(),
      messages: z.array(uiMessage).min(1),
      trigger: z.enum(['submit-message', 'regenerate-message']).optional(),
      messageId: z.string().optional(),
    })
    .loose(),
]);
export type StreamBody = z.infer<typeof streamBody>;

export const messageParams = z.object({
  id: z.uuid({ message: 'The session id must be a UUID.' }),
  messageId: z.string().regex(/^[\w-]{1,100}$/, 'a message id is 1–100 letters, digits, _ or -'),
});

export const feedbackBody = z.strictObject({
  rating: z.enum(['up', 'down'], { message: 'rating must be "up" or "down"' }),
  comment: z.string().max(2000, 'a comment is at most 2,000 characters').optional(),
});

export const feedbackResponse = z.object({
  messageId: z.string(),
  rating: z.enum(['up', 'down']),
  comment: z.string().optional(),
  updatedAt: z.string(),
});

export const sessionExportQuery = z.object({
  format: z.enum(['md', 'json'], { message: 'format must be "md" or "json"' }).default('md'),
});

export const librarySlugBody = z.strictObject({ slug: agentSlug });
export const librarySlugParam = z.object({ slug: agentSlug });
export const storeQuery = z.object({
  q: searchQueryText().default(''),
  limit: pageSize(50, 10),
});

const usageWindow = z.object({ used: z.number(), limit: z.number(), resetsAt: z.string() });
export const usageResponse = z.object({ daily: usageWindow, weekly: usageWindow });

export const agentResponse = z.object({
  slug: z.string(),
  name: z.string(),
  subHeading: z.string(),
  description: z.string(),
  creator: z.string(),
  categories: z.array(z.string()),
  runs: z.number(),
  rating: z.number(),
  score: z.number().optional(),
});

export const sessionSummaryResponse = z.object({
  sessionId: z.uuid(),
  userId: z.string(),
  title: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(['idle', 'running']),
  lastRunStatus: z.enum(['finished', 'failed', 'stopped', 'interrupted']).nullable(),
});

export const sessionResponse = sessionSummaryResponse.extend({
  messages: z.array(z.object({ id: z.string(), role: z.string(), parts: z.array(z.unknown()), metadata: z.unknown().optional() })),
  usage: z.array(
    z.object({
      promptTokens: z.number(),
      completionTokens: z.number(),
      totalTokens: z.number(),
      model: z.string(),
      costUsd: z.number().optional(),
      createdAt: z.string(),
    }),
  ),
});

export const errorResponse = z.object({
  error: z.object({
    code: z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    requestId: z.string(),
  }),
});
