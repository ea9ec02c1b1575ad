/** What a tool may use while it runs: the catalog and the user it acts for. */
import type { AgentsRepository } from '../store/agents-repository.js';

export type ToolContext = { agents: AgentsRepository; userId: string };
