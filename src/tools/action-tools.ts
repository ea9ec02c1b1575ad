/**
 * The tools that act or spend rather than read: they change the user's data or start work that costs
 * tokens. Anything that asks a person before a tool runs (tool approvals) hooks here.
 */
export const ACTION_TOOLS = ['add_agent_to_library', 'run_agent'] as const;

export type ActionToolName = (typeof ACTION_TOOLS)[number];

export const isActionTool = (name: string): name is ActionToolName => (ACTION_TOOLS as readonly string[]).includes(name);
