/** What a tool may use while it runs: the catalog, the user it acts for, and (in chat) agent executions. */
import type { ExecutionService } from '../executions/execution-service.js';
import type { AgentsRepository } from '../store/agents-repository.js';

export type ExecutionTools = Pick<ExecutionService, 'requiredSetup' | 'start' | 'get'>;

export type ToolContext = { agents: AgentsRepository; userId: string; executions?: ExecutionTools };
