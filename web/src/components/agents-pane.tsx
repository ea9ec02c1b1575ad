// The agent views in place of a chat: the Library (run an agent) or the Executions (follow them).
import type { AgentsView } from '../agents-route.js';
import { ExecutionsView } from './executions-view.js';
import { LibraryView } from './library-view.js';

export function AgentsPane({ view }: { view: AgentsView }) {
  return (
    <div className="chat">
      <div className="chat__scroll">
        <div className="chat__log">{view.kind === 'library' ? <LibraryView /> : <ExecutionsView executionId={view.executionId} />}</div>
      </div>
    </div>
  );
}

/** Links to the agent views, for the top bar. */
export function AgentsNav({ view }: { view: AgentsView | null }) {
  return (
    <nav className="agents-nav" aria-label="Agents">
      <a href="#/library" aria-current={view?.kind === 'library' ? 'page' : undefined} data-testid="nav-library">
        Library
      </a>
      <a href="#/executions" aria-current={view?.kind === 'executions' ? 'page' : undefined} data-testid="nav-executions">
        Executions
      </a>
    </nav>
  );
}
