/** Request and response shapes of the HTTP API: they validate requests and generate the OpenAPI document. */
import { z } from 'zod';

export const sessionIdParam = z.object({ id: z.uuid({ message: 'The session id must be a UUID.' }) });

export const listSessionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
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

export const librarySlugBody = z.strictObject({ slug: z.string().min(1).max(100) });
export const storeQuery = z.object({
  q: z.string().max(500).default(''),
  limit: z.coerce.number().int().min(1).max(50).default(10),
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
    code: z.enum(['invalid_request', 'unauthorized', 'not_found', 'run_in_progress', 'payload_too_large', 'usage_limit_exceeded', 'rate_limited', 'upstream_unavailable', 'unavailable', 'internal']),
    message: z.string(),
    requestId: z.string(),
  }),
});
