/** Request and response shapes of the agent-execution routes (routes/executions.ts), described in the OpenAPI document. */
import { z } from 'zod';
import { agentSlug } from '../store/agent-slug.js';
import { documented } from '../api/shapes.js';

export { executionListResponse, executionResponse, startedExecutionResponse } from '../api/shapes.js';

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
