/** Request and response shapes of the agent-execution routes (routes/executions.ts), described in the OpenAPI document. */
import { z } from 'zod';
import { agentSlug } from '../store/agent-slug.js';
import { executionStatuses } from '../store/schema.js';
import { apiShapes, chatMessage, isoTime, tokenUsage } from './schemas.js';

function documented<T extends z.ZodType>(schema: T, meta: { id?: string; description?: string }): T {
  apiShapes.add(schema, meta);
  return schema;
}

export const executionIdParam = z.object({
  id: documented(z.uuid({ message: 'The execution id must be a UUID.' }), { description: 'The execution id.' }),
});

export const agentSlugParam = z.object({ slug: agentSlug });

export const startExecutionBody = z.strictObject({
  slug: agentSlug,
  inputs: documented(z.record(z.string(), z.unknown()).default({}), {
    description: "The values of the agent's inputs, by input name (see `GET /api/store/agents/{slug}/setup`).",
  }),
});

export const listExecutionsQuery = z.object({
  limit: documented(
    z.coerce
      .number({ error: 'limit must be a whole number from 1 to 100' })
      .int({ error: 'limit must be a whole number from 1 to 100' })
      .min(1, { error: 'limit must be a whole number from 1 to 100' })
      .max(100, { error: 'limit must be a whole number from 1 to 100' })
      .default(20),
    { description: 'Executions per page.' },
  ),
  cursor: documented(z.string().max(200).optional(), { description: 'The `nextCursor` of the previous page, as it came.' }),
});

const executionStatus = documented(z.enum(executionStatuses), {
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

export const executionStopResponse = z.object({
  stopped: documented(z.boolean(), { description: 'Whether the execution was live and was asked to stop.' }),
});

const agentInput = z.object({ type: z.string(), title: z.string(), description: z.string() }).loose();

export const requiredSetupResponse = documented(
  z.object({
    slug: z.string(),
    name: z.string(),
    inputs: z.object({ type: z.literal('object'), properties: z.record(z.string(), agentInput), required: z.array(z.string()) }).loose(),
    missing: z.array(z.string()),
  }),
  { id: 'RequiredSetup', description: 'What an agent needs to run: its inputs (a JSON Schema object) and the required ones not given.' },
);
