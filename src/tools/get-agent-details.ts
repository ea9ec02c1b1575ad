/** `get_agent_details`: the full catalog entry of one agent. */
import { tool } from 'ai';
import { z } from 'zod';
import { agentSlug } from '../store/agent-slug.js';
import type { ToolContext } from './tool-context.js';
import { unknownSlug } from './tool-errors.js';

export const getAgentDetailsInput = z.object({ slug: agentSlug.describe('The agent slug, as returned by find_agent.') });

export const getAgentDetails = (context: ToolContext) =>
  tool({
    description: 'Get the full details of one agent in the store by its slug.',
    inputSchema: getAgentDetailsInput,
    execute: async ({ slug }) => {
      const agent = await context.agents.get(slug);
      return agent ?? unknownSlug(slug);
    },
  });
