// Loads one session's history, then hands it to the live chat view.
import { useEffect, useState } from 'react';
import { ApiError } from '../api-error.js';
import type { SessionDetail } from '../api-types.js';
import { useAuthState } from '../auth-token.js';
import { getSession } from '../server-api.js';
import { ChatView } from './chat-view.js';
import { ErrorBanner } from './error-banner.js';

interface SessionPaneProps {
  sessionId: string;
  initialText?: string;
  onInitialTextSent: () => void;
  onAnswerFinished: () => void;
  onLeave: () => void;
}

type Load = { kind: 'loading' } | { kind: 'ready'; session: SessionDetail } | { kind: 'failed'; error: ApiError };

export function SessionPane({ sessionId, initialText, onInitialTextSent, onAnswerFinished, onLeave }: SessionPaneProps) {
  const [load, setLoad] = useState<Load>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const { token } = useAuthState();

  useEffect(() => {
    const controller = new AbortController();
    setLoad((current) => (current.kind === 'ready' ? current : { kind: 'loading' }));
    getSession(sessionId, controller.signal).then(
      (session) => setLoad({ kind: 'ready', session }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoad({
          kind: 'failed',
          error: ApiError.isInstance(error) ? error : new ApiError('Could not load this chat.', 'internal'),
        });
      },
    );
    return () => controller.abort();
  }, [sessionId, attempt, token]);

  if (load.kind === 'loading') {
    return (
      <div className="pane-status" role="status">
        <span className="spinner" aria-hidden="true" /> Loading chat…
      </div>
    );
  }
  if (load.kind === 'failed') {
    const missing = load.error.code === 'not_found';
    return (
      <div className="pane-status">
        <ErrorBanner
          error={missing ? new ApiError('This chat does not exist or was deleted.', 'not_found', 404) : load.error}
          onRetry={missing ? onLeave : () => setAttempt((count) => count + 1)}
          retryLabel={missing ? 'Start a new chat' : 'Retry'}
        />
      </div>
    );
  }
  return (
    <ChatView
      key={load.session.sessionId}
      session={load.session}
      initialText={initialText}
      onInitialTextSent={onInitialTextSent}
      onAnswerFinished={onAnswerFinished}
    />
  );
}
