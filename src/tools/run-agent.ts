/**
 * `run_agent`: starts an execution of an agent for the user and returns at once with its id; the
 * answer does not wait for it (view_agent_output reads it later). An action tool (action-tools.ts).
 */
import { tool } from 'ai';
import { z } from 'zod';
import { agentSlug } from '../store/agent-slug.js';
import type { ToolContext } from './tool-context.js';
import { toolErrorOutput } from './tool-errors.js';

export const runAgentInput = z.object({
  slug: agentSlug.describe('The slug of the agent to run.'),
  inputs: z.record(z.string(), z.unknown()).describe('The values of its inputs, by input name (see get_required_setup_info).'),
});

export const runAgent = (context: ToolContext) =>
  tool({
    description:
      'Run an agent for the user with the given inputs. Returns at once with { executionId, status }: the agent works in the background, ' +
      'and the user can follow it in Executions. Call get_required_setup_info first so that no required input is missing.',
    inputSchema: runAgentInput,
    execute: async ({ slug, inputs }) => {
      try {
        return await context.executions!.start(context.userId, slug, inputs);
      } catch (error) {
        return toolErrorOutput(error, { slug });
      }
    },
  });
