// The list of the user's chats, the New chat button, and the usage meter; a drawer on small screens.
import type { ApiError } from '../api-error.js';
import type { SessionSummary, UsageReport } from '../api-types.js';
import { saveToken } from '../auth-token.js';
import { ErrorBanner } from './error-banner.js';
import { SessionItem } from './session-item.js';
import { UsageMeter } from './usage-meter.js';

interface SidebarProps {
  open: boolean;
  sessions: SessionSummary[];
  loading: boolean;
  error: ApiError | null;
  hasMore: boolean;
  activeId: string | null;
  creating: boolean;
  usage: UsageReport | null;
  version?: string;
  hasToken: boolean;
  onClose: () => void;
  onNewChat: () => void;
  onOpen: (sessionId: string) => void;
  onDelete: (sessionId: string) => Promise<void>;
  onLoadMore: () => void;
  onRetry: () => void;
}

export function Sidebar(props: SidebarProps) {
  const { open, sessions, loading, error, hasMore, activeId, creating, usage, version, hasToken } = props;
  const signedOut = error?.code === 'unauthorized';
  return (
    <>
      <div className={`backdrop${open ? ' backdrop--visible' : ''}`} onClick={props.onClose} aria-hidden="true" />
      <aside className={`sidebar${open ? ' sidebar--open' : ''}`} aria-label="Chats">
        <div className="sidebar__head">
          <div className="brand">
            <span className="brand__mark" aria-hidden="true">
              ✦
            </span>
            autochat
          </div>
          <button type="button" className="icon-button sidebar__close" onClick={props.onClose} aria-label="Close menu">
            ✕
          </button>
        </div>
        <button
          type="button"
          className="button button--primary new-chat"
          onClick={props.onNewChat}
          disabled={creating}
          aria-label="New chat"
          data-testid="new-chat"
        >
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
            <path d="M12 5v14M5 12h14" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />
          </svg>
          New chat
        </button>
        <nav className="sidebar__list" aria-label="Chat history">
          {error && !signedOut ? <ErrorBanner error={error} onRetry={props.onRetry} /> : null}
          {signedOut ? <p className="sidebar__empty">Paste your API token to see your chats.</p> : null}
          {!error && !loading && sessions.length === 0 ? <p className="sidebar__empty">No chats yet.</p> : null}
          <ul>
            {sessions.map((session) => (
              <SessionItem
                key={session.sessionId}
                session={session}
                active={session.sessionId === activeId}
                onOpen={props.onOpen}
                onDelete={props.onDelete}
              />
            ))}
          </ul>
          {loading ? (
            <p className="sidebar__empty" role="status">
              <span className="spinner" aria-hidden="true" /> Loading…
            </p>
          ) : null}
          {hasMore && !loading ? (
            <button type="button" className="button button--ghost load-more" onClick={props.onLoadMore}>
              Show older chats
            </button>
          ) : null}
        </nav>
        <footer className="sidebar__foot">
          <UsageMeter usage={usage} />
          <div className="sidebar__meta">
            {version ? <span>autochat {version}</span> : <span />}
            {hasToken ? (
              <button type="button" className="link-button" onClick={() => saveToken(null)} aria-label="Forget API token">
                Forget token
              </button>
            ) : null}
          </div>
        </footer>
      </aside>
    </>
  );
}
