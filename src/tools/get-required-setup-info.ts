/** `get_required_setup_info`: what an agent needs before it can run — its inputs, and which are still missing. */
import { tool } from 'ai';
import { z } from 'zod';
import { agentSlug } from '../store/agent-slug.js';
import type { ToolContext } from './tool-context.js';
import { toolErrorOutput } from './tool-errors.js';

export const getRequiredSetupInfoInput = z.object({
  slug: agentSlug.describe('The slug of the agent to run, as find_agent or find_library_agent returned it.'),
  inputs: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Values already known, by input name: the answer says which required ones are still missing.'),
});

export const getRequiredSetupInfo = (context: ToolContext) =>
  tool({
    description:
      'Before running an agent: get its inputs (a JSON Schema object whose properties have a title, description and maybe a default) ' +
      'and the required ones still missing given the values you already have. Ask the user for the missing ones, then call run_agent.',
    inputSchema: getRequiredSetupInfoInput,
    execute: async ({ slug, inputs }) => {
      try {
        return await context.executions!.requiredSetup(slug, inputs ?? {});
      } catch (error) {
        return toolErrorOutput(error, { slug });
      }
    },
  });
