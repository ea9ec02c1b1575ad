/** `find_library_agent`: a typo-tolerant search of the caller's own library. */
import { tool } from 'ai';
import { z } from 'zod';
import { searchQueryText } from '../store/search-query.js';
import type { ToolContext } from './tool-context.js';

export const findLibraryAgentInput = z.object({
  query: searchQueryText().min(1).describe('What to look for in the user library, at most 16 words.'),
});

export const findLibraryAgent = (context: ToolContext) =>
  tool({
    description: "Search the user's own agent library (agents they have added). Returns matches best first.",
    inputSchema: findLibraryAgentInput,
    execute: async ({ query }) => ({ agents: await context.agents.searchLibrary(context.userId, query, 5), query }),
  });
