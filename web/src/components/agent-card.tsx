// One agent from a `find_agent` result, with an "Add to library" action.
import { useState } from 'react';
import { ApiError } from '../api-error.js';
import type { AgentSummary } from '../api-types.js';
import { formatCount } from '../number-format.js';
import { useLibrary } from '../library-state.js';

type AddState = { kind: 'idle' } | { kind: 'adding' } | { kind: 'added' } | { kind: 'failed'; message: string };

export function AgentCard({ agent }: { agent: AgentSummary }) {
  const library = useLibrary();
  const [tried, setAdd] = useState<AddState>({ kind: 'idle' });
  // An agent already in the library (added in this chat, another one, or another tab) shows as added.
  const add: AddState = tried.kind === 'idle' && library.has(agent.slug) ? { kind: 'added' } : tried;

  const onAdd = async (): Promise<void> => {
    setAdd({ kind: 'adding' });
    try {
      await library.add(agent.slug);
      setAdd({ kind: 'added' });
    } catch (error) {
      if (ApiError.isInstance(error) && error.status === 409) {
        setAdd({ kind: 'added' });
        return;
      }
      setAdd({ kind: 'failed', message: error instanceof Error ? error.message : 'Could not add this agent.' });
    }
  };

  return (
    <article className="agent-card" data-testid="agent-card" aria-label={agent.name}>
      <header className="agent-card__head">
        <div className="agent-card__avatar" aria-hidden="true">
          {agent.name.trim().charAt(0).toUpperCase() || '?'}
        </div>
        <div className="agent-card__titles">
          <h3 className="agent-card__name">{agent.name}</h3>
          {agent.subHeading ? <p className="agent-card__sub">{agent.subHeading}</p> : null}
        </div>
      </header>
      {agent.description ? <p className="agent-card__desc">{agent.description}</p> : null}
      {agent.categories && agent.categories.length > 0 ? (
        <ul className="agent-card__chips" aria-label="Categories">
          {agent.categories.map((category) => (
            <li key={category} className="chip">
              {category}
            </li>
          ))}
        </ul>
      ) : null}
      <footer className="agent-card__foot">
        <div className="agent-card__stats">
          {agent.creator ? <span className="agent-card__creator">by {agent.creator}</span> : null}
          {typeof agent.rating === 'number' ? (
            <span className="agent-card__rating" role="img" aria-label={`Rated ${agent.rating.toFixed(1)} out of 5`}>
              ★ {agent.rating.toFixed(1)}
            </span>
          ) : null}
          {typeof agent.runs === 'number' ? <span className="agent-card__runs">{formatCount(agent.runs)} runs</span> : null}
        </div>
        <button
          type="button"
          className={`button button--small${add.kind === 'added' ? ' button--done' : ' button--primary'}`}
          onClick={() => void onAdd()}
          disabled={add.kind === 'adding' || add.kind === 'added'}
          aria-label={add.kind === 'added' ? `${agent.name} added to library` : `Add ${agent.name} to library`}
        >
          {add.kind === 'adding' ? 'Adding…' : add.kind === 'added' ? '✓ Added' : 'Add to library'}
        </button>
      </footer>
      {add.kind === 'failed' ? (
        <p className="agent-card__error" role="alert">
          {add.message}
        </p>
      ) : null}
    </article>
  );
}
