// The one-line spinner shown while a tool call is still running.
const labels: Record<string, string> = {
  find_agent: 'Searching agents…',
  get_agent_details: 'Fetching agent details…',
  add_agent_to_library: 'Adding agent to your library…',
  find_library_agent: 'Searching your library…',
};

export function ToolProgress({ toolName }: { toolName: string }) {
  return (
    <div className="tool-progress" role="status" data-testid="tool-running">
      <span className="spinner" aria-hidden="true" />
      <span>{labels[toolName] ?? `Running ${toolName}…`}</span>
    </div>
  );
}
