/** `find_agent`: a typo-tolerant search of the agent store. */
import { tool } from 'ai';
import { z } from 'zod';
import { searchQueryText } from '../store/search-query.js';
import type { ToolContext } from './tool-context.js';

export const findAgentInput = z.object({
  query: searchQueryText().min(1).describe('What the user wants an agent for, in their words (typos are fine), at most 16 words.'),
});

export const findAgent = (context: ToolContext) =>
  tool({
    description:
      'Search the platform agent store for agents that match what the user needs. Returns the best matches first, ' +
      'with slug, name, sub-heading, description, creator, categories, runs and rating. Tolerates typos.',
    inputSchema: findAgentInput,
    execute: async ({ query }) => ({ agents: await context.agents.search(query, 5), query }),
  });
