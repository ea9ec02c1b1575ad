// One chat in the sidebar: open it, or delete it with a second click to confirm.
import { useEffect, useState } from 'react';
import type { SessionSummary } from '../api-types.js';
import { formatRelative } from '../number-format.js';

interface SessionItemProps {
  session: SessionSummary;
  active: boolean;
  onOpen: (sessionId: string) => void;
  onDelete: (sessionId: string) => Promise<void>;
}

export function sessionTitle(session: { title?: string | null }): string {
  return session.title?.trim() || 'New chat';
}

export function SessionItem({ session, active, onOpen, onDelete }: SessionItemProps) {
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const title = sessionTitle(session);

  useEffect(() => {
    if (!confirming) return;
    const timer = window.setTimeout(() => setConfirming(false), 3000);
    return () => window.clearTimeout(timer);
  }, [confirming]);

  const onDeleteClick = async (): Promise<void> => {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setDeleting(true);
    try {
      await onDelete(session.sessionId);
    } finally {
      setDeleting(false);
      setConfirming(false);
    }
  };

  return (
    <li className={`session-item${active ? ' session-item--active' : ''}`} data-testid="session-item" data-session-id={session.sessionId}>
      <button
        type="button"
        className="session-item__open"
        onClick={() => onOpen(session.sessionId)}
        aria-current={active ? 'page' : undefined}
        title={title}
      >
        <span className="session-item__title">
          {session.status === 'running' ? <span className="live-dot" role="img" aria-label="Answering" /> : null}
          <span className="session-item__text">{title}</span>
        </span>
        <span className="session-item__time">{formatRelative(session.updatedAt)}</span>
      </button>
      <button
        type="button"
        className={`session-item__delete${confirming ? ' session-item__delete--confirm' : ''}`}
        onClick={() => void onDeleteClick()}
        disabled={deleting}
        aria-label={confirming ? `Confirm delete ${title}` : `Delete ${title}`}
        title={confirming ? 'Click again to delete' : 'Delete chat'}
        data-testid="delete-session"
      >
        {confirming ? (
          'Delete?'
        ) : (
          <svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true">
            <path
              d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.8"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
        )}
      </button>
    </li>
  );
}
