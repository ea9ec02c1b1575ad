// The cards a `find_agent` tool call produced.
import type { FindAgentOutput } from '../api-types.js';
import { AgentCard } from './agent-card.js';

export function AgentResults({ output }: { output: FindAgentOutput }) {
  const count = output.agents.length;
  return (
    <section className="agent-results" aria-label="Agents found">
      <p className="agent-results__caption">
        {count === 0 ? 'No agents matched' : `Found ${count} agent${count === 1 ? '' : 's'}`}
        {output.query ? (
          <>
            {' '}
            for <q>{output.query}</q>
          </>
        ) : null}
      </p>
      {count > 0 ? (
        <div className="agent-results__grid">
          {output.agents.map((agent) => (
            <AgentCard key={agent.slug} agent={agent} />
          ))}
        </div>
      ) : null}
    </section>
  );
}
