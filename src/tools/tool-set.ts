/** The tools offered to the model in every run, bound to the user the run acts for. Action tools are listed in action-tools.ts. */
import type { ToolSet } from 'ai';
import { addAgentToLibrary } from './add-agent-to-library.js';
import { findAgent } from './find-agent.js';
import { findLibraryAgent } from './find-library-agent.js';
import { getAgentDetails } from './get-agent-details.js';
import { getRequiredSetupInfo } from './get-required-setup-info.js';
import { guardTools } from './guard-tools.js';
import { runAgent } from './run-agent.js';
import type { ToolContext } from './tool-context.js';
import { viewAgentOutput } from './view-agent-output.js';

/** The tools offered to the model: `extra` and the agent tools, guarded (guard-tools.ts). */
export function createToolSet(context: ToolContext, extra: ToolSet = {}): ToolSet {
  return guardTools({ ...extra, ...agentTools(context) });
}

/** The agent-store tools as they are, unguarded: the MCP server offers the same ones, with their own `execute`. */
export function agentTools(context: ToolContext): ToolSet {
  return {
    find_agent: findAgent(context),
    get_agent_details: getAgentDetails(context),
    add_agent_to_library: addAgentToLibrary(context),
    find_library_agent: findLibraryAgent(context),
    // Running agents, where the context can start executions (a chat turn, MCP); not inside an execution.
    ...(context.executions
      ? {
          get_required_setup_info: getRequiredSetupInfo(context),
          run_agent: runAgent(context),
          view_agent_output: viewAgentOutput(context),
        }
      : {}),
  };
}
