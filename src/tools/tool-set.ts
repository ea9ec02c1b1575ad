/** The tools offered to the model in every run, bound to the user the run acts for. */
import type { ToolSet } from 'ai';
import { addAgentToLibrary } from './add-agent-to-library.js';
import { findAgent } from './find-agent.js';
import { findLibraryAgent } from './find-library-agent.js';
import { getAgentDetails } from './get-agent-details.js';
import { guardTools } from './guard-tools.js';
import type { ToolContext } from './tool-context.js';

export function createToolSet(context: ToolContext, extra: ToolSet = {}): ToolSet {
  return guardTools({
    ...extra,
    find_agent: findAgent(context),
    get_agent_details: getAgentDetails(context),
    add_agent_to_library: addAgentToLibrary(context),
    find_library_agent: findLibraryAgent(context),
  });
}
