/** `add_agent_to_library`: saves a store agent into the caller's own library. */
import { tool } from 'ai';
import { z } from 'zod';
import { agentSlug } from '../store/agent-slug.js';
import type { ToolContext } from './tool-context.js';
import { unknownSlug } from './tool-errors.js';

export const addAgentToLibraryInput = z.object({ slug: agentSlug.describe('The slug of the store agent to add.') });

export const addAgentToLibrary = (context: ToolContext) =>
  tool({
    description: "Add an agent from the store to the user's library, so they can run it. Only do this when the user asks.",
    inputSchema: addAgentToLibraryInput,
    execute: async ({ slug }) => {
      const entry = await context.agents.addToLibrary(context.userId, slug);
      return entry ?? unknownSlug(slug);
    },
  });
