/**
 * Which tool calls wait for the user's approval before they run. Tools of MCP servers act on the
 * outside world, so by default each of their calls is asked about; the built-in agent-store tools
 * only read (or, for `add_agent_to_library`, change the user's own library) and run at once.
 * TOOL_APPROVAL and TOOL_APPROVAL_EXEMPT change that (docs/configuration.md).
 */
import type { ToolApprovalSettings } from '../config.js';

export type ToolApprovalPolicy = (toolName: string) => boolean;

/** `externalTools`: the names the `@mcp` pattern stands for (the tools loaded from MCP_SERVERS). */
export function createToolApprovalPolicy(
  settings: Pick<ToolApprovalSettings, 'required' | 'exempt'>,
  externalTools: Iterable<string>,
): ToolApprovalPolicy {
  const external = new Set(externalTools);
  const required = matcher(settings.required, external);
  const exempt = matcher(settings.exempt, external);
  return (toolName) => required(toolName) && !exempt(toolName);
}

function matcher(patterns: string[], external: Set<string>): (name: string) => boolean {
  const mcp = patterns.includes('@mcp');
  const globs = patterns.filter((pattern) => pattern !== '@mcp').map(globToRegExp);
  return (name) => (mcp && external.has(name)) || globs.some((glob) => glob.test(name));
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}
