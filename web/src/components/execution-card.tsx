// A `run_agent` result in chat: the agent was started; the card links to its live execution.
import { agentsViewHref } from '../agents-route.js';

export const isStartedExecution = (output: unknown): output is { executionId: string; status: string } =>
  typeof output === 'object' && output !== null && typeof (output as { executionId?: unknown }).executionId === 'string';

export function ExecutionCard({ output, slug }: { output: { executionId: string; status: string }; slug?: string }) {
  return (
    <div className="agent-card execution-card" data-testid="execution-card">
      <p className="agent-card__name">Agent started{slug ? `: ${slug}` : ''}</p>
      <a className="button button--small" href={agentsViewHref({ kind: 'executions', executionId: output.executionId })}>
        Follow the execution
      </a>
    </div>
  );
}
