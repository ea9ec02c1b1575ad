/** `view_agent_output`: the state of one of the user's executions and, when there is some, what the agent wrote. */
import { tool } from 'ai';
import { z } from 'zod';
import type { Execution } from '../store/executions-repository.js';
import type { ToolContext } from './tool-context.js';
import { toolErrorOutput } from './tool-errors.js';

export const viewAgentOutputInput = z.object({ executionId: z.uuid().describe('The executionId that run_agent returned.') });

/** What the model and MCP clients see of an execution: its text output rather than its message parts. */
export function executionView(execution: Execution) {
  const output = execution.output?.parts
    .map((part) => (part.type === 'text' ? part.text : ''))
    .join('')
    .trim();
  return {
    executionId: execution.executionId,
    slug: execution.slug,
    status: execution.status,
    ...(output ? { output } : {}),
    ...(execution.error ? { error: execution.error } : {}),
  };
}

export const viewAgentOutput = (context: ToolContext) =>
  tool({
    description:
      "Check one of the user's agent executions: its status (queued, running, finished, failed, stopped, interrupted) and its output once there is one.",
    inputSchema: viewAgentOutputInput,
    execute: async ({ executionId }) => {
      try {
        return executionView(await context.executions!.get(executionId, context.userId));
      } catch (error) {
        return toolErrorOutput(error, { executionId });
      }
    },
  });
