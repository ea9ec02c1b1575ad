// "Library": the agents in your library, each with Run, which opens a form built from its inputs.
import { useEffect, useState } from 'react';
import { ApiError } from '../api-error.js';
import type { AgentSummary } from '../api-types.js';
import { openAgentsView } from '../agents-route.js';
import { listLibrary } from '../server-api.js';
import { ErrorBanner } from './error-banner.js';
import { RunForm } from './run-form.js';

export function LibraryView() {
  const [agents, setAgents] = useState<AgentSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [running, setRunning] = useState<string | null>(null);

  const load = () => {
    setError(null);
    listLibrary().then(
      (library) => setAgents(library.agents),
      (failure: unknown) => setError(ApiError.isInstance(failure) ? failure : new ApiError('Could not load your library.', 'internal')),
    );
  };
  useEffect(load, []);

  return (
    <section className="agents-view" aria-label="Library" data-testid="library-view">
      <h2 className="agents-view__title">Library</h2>
      {error ? <ErrorBanner error={error} onRetry={load} /> : null}
      {agents && agents.length === 0 ? (
        <p className="agents-view__empty">Your library is empty. Ask the assistant to find an agent, then choose “Add to library”.</p>
      ) : null}
      <ul className="agents-view__list">
        {(agents ?? []).map((agent) => (
          <li key={agent.slug} className="agent-card" data-testid="library-agent" aria-label={agent.name}>
            <div className="agents-view__row">
              <div>
                <h3 className="agent-card__name">{agent.name}</h3>
                {agent.subHeading ? <p className="agent-card__sub">{agent.subHeading}</p> : null}
              </div>
              <button
                type="button"
                className="button button--primary button--small"
                onClick={() => setRunning(agent.slug)}
                disabled={running === agent.slug}
              >
                Run
              </button>
            </div>
            {running === agent.slug ? (
              <RunForm
                slug={agent.slug}
                onCancel={() => setRunning(null)}
                onStarted={(executionId) => openAgentsView({ kind: 'executions', executionId })}
              />
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
