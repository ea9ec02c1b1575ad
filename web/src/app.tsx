// The whole page: sidebar of chats, the open conversation, and the banners that frame it.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api-error.js';
import type { ServerInfo, SessionSummary, UsageReport } from './api-types.js';
import { useAuthState } from './auth-token.js';
import { LibraryProvider } from './library-state.js';
import { useAgentsView } from './agents-route.js';
import { AgentsNav, AgentsPane } from './components/agents-pane.js';
import { Composer } from './components/composer.js';
import { DemoBanner } from './components/demo-banner.js';
import { ErrorBanner } from './components/error-banner.js';
import { SessionPane } from './components/session-pane.js';
import { sessionTitle } from './components/session-item.js';
import { Sidebar } from './components/sidebar.js';
import { TokenField } from './components/token-field.js';
import { Welcome } from './components/welcome.js';
import { createSession, deleteSession, downloadChatMarkdown, getServerInfo, getUsage, listSessions } from './server-api.js';
import { useOpenSessionId } from './session-route.js';

function asApiError(error: unknown, fallback: string): ApiError {
  return ApiError.isInstance(error) ? error : new ApiError(fallback, 'internal');
}

/** Titles are written by the server shortly after the first answer; look again once it had time. */
const TITLE_RECHECK_MS = 2500;

export function App() {
  const { token, unauthorized } = useAuthState();
  const [openId, openSession] = useOpenSessionId();
  const agentsView = useAgentsView();
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [sessionsLoading, setSessionsLoading] = useState(true);
  const [sessionsError, setSessionsError] = useState<ApiError | null>(null);
  const [usage, setUsage] = useState<UsageReport | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<{ error: ApiError; text: string } | null>(null);
  const [pending, setPending] = useState<{ sessionId: string; text: string } | null>(null);
  const [exportError, setExportError] = useState<ApiError | null>(null);

  const refreshSessions = useCallback(async () => {
    try {
      const page = await listSessions();
      setSessions((previous) => {
        if (!page.nextCursor) return page.sessions;
        // Keep older chats the user already paged in.
        const fresh = new Set(page.sessions.map((session) => session.sessionId));
        return [...page.sessions, ...previous.filter((session) => !fresh.has(session.sessionId))];
      });
      setNextCursor((current) => (current && page.nextCursor ? current : (page.nextCursor ?? null)));
      setSessionsError(null);
    } catch (error) {
      setSessionsError(asApiError(error, 'Could not load your chats.'));
    } finally {
      setSessionsLoading(false);
    }
  }, []);

  const refreshUsage = useCallback(async () => {
    try {
      setUsage(await getUsage());
    } catch {
      // The meter is a nicety; a failure here must not disturb the chat.
    }
  }, []);

  useEffect(() => {
    void getServerInfo().then(setInfo, () => setInfo(null));
    setSessionsLoading(true);
    void refreshSessions();
    void refreshUsage();
  }, [token, refreshSessions, refreshUsage]);

  const loadMore = useCallback(async () => {
    if (!nextCursor) return;
    setSessionsLoading(true);
    try {
      const page = await listSessions(nextCursor);
      setSessions((previous) => {
        const known = new Set(previous.map((session) => session.sessionId));
        return [...previous, ...page.sessions.filter((session) => !known.has(session.sessionId))];
      });
      setNextCursor(page.nextCursor ?? null);
    } catch (error) {
      setSessionsError(asApiError(error, 'Could not load older chats.'));
    } finally {
      setSessionsLoading(false);
    }
  }, [nextCursor]);

  const titleTimer = useRef<number | undefined>(undefined);
  const onAnswerFinished = useCallback(() => {
    void refreshUsage();
    void refreshSessions();
    window.clearTimeout(titleTimer.current);
    titleTimer.current = window.setTimeout(() => void refreshSessions(), TITLE_RECHECK_MS);
  }, [refreshSessions, refreshUsage]);
  useEffect(() => () => window.clearTimeout(titleTimer.current), []);

  const startSession = useCallback(
    async (text: string) => {
      setCreating(true);
      setCreateError(null);
      try {
        const session = await createSession();
        setSessions((previous) => [session, ...previous.filter((item) => item.sessionId !== session.sessionId)]);
        setPending({ sessionId: session.sessionId, text });
        openSession(session.sessionId);
        setSidebarOpen(false);
      } catch (error) {
        setCreateError({ error: asApiError(error, 'Could not start a new chat.'), text });
      } finally {
        setCreating(false);
      }
    },
    [openSession],
  );

  const onDelete = useCallback(
    async (sessionId: string) => {
      try {
        await deleteSession(sessionId);
      } catch (error) {
        const failure = asApiError(error, 'Could not delete the chat.');
        // Already gone on the server: treat as deleted.
        if (failure.code !== 'not_found') {
          setSessionsError(failure);
          return;
        }
      }
      setSessions((previous) => previous.filter((session) => session.sessionId !== sessionId));
      if (sessionId === openId) openSession(null);
    },
    [openId, openSession],
  );

  const onOpen = useCallback(
    (sessionId: string) => {
      openSession(sessionId);
      setSidebarOpen(false);
    },
    [openSession],
  );

  const exportChat = useCallback(async () => {
    if (!openId) return;
    setExportError(null);
    try {
      await downloadChatMarkdown(openId);
    } catch (error) {
      setExportError(asApiError(error, 'Could not export the chat.'));
    }
  }, [openId]);

  const clearPending = useCallback(() => setPending(null), []);
  const leaveSession = useCallback(() => openSession(null), [openSession]);

  const openSummary = sessions.find((session) => session.sessionId === openId);
  const title = openId ? sessionTitle(openSummary ?? {}) : 'New chat';
  useEffect(() => {
    document.title = openId ? `${title} · autochat` : 'autochat';
  }, [openId, title]);

  const needsToken = unauthorized || (info?.authRequired === true && !token);

  // "New chat" only clears the view: the chat is created on the server with its first message, so
  // clicking it repeatedly leaves no empty chats behind.
  const newChat = useCallback(() => {
    openSession(null);
    setSidebarOpen(false);
  }, [openSession]);

  return (
    <LibraryProvider token={token}>
      <div className="app">
        <Sidebar
          open={sidebarOpen}
          sessions={sessions}
          loading={sessionsLoading}
          error={sessionsError}
          hasMore={nextCursor !== null}
          activeId={openId}
          creating={creating}
          usage={usage}
          version={info?.version}
          hasToken={token !== null}
          onClose={() => setSidebarOpen(false)}
          onNewChat={newChat}
          onOpen={onOpen}
          onDelete={onDelete}
          onLoadMore={() => void loadMore()}
          onRetry={() => void refreshSessions()}
        />
        <main className="main">
          <header className="topbar">
            <button
              type="button"
              className="icon-button menu-button"
              onClick={() => setSidebarOpen(true)}
              aria-label="Open menu"
              aria-expanded={sidebarOpen}
            >
              <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                <path d="M4 7h16M4 12h16M4 17h16" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
              </svg>
            </button>
            <h2 className="topbar__title">{agentsView ? (agentsView.kind === 'library' ? 'Library' : 'Executions') : title}</h2>
            <AgentsNav view={agentsView} />
            {openId ? (
              <button
                type="button"
                className="icon-button"
                onClick={() => void exportChat()}
                aria-label="Export chat as Markdown"
                title="Export chat as Markdown"
                data-testid="export-chat"
              >
                <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                  <path
                    d="M12 4v11m0 0l-4-4m4 4l4-4M5 19h14"
                    fill="none"
                    stroke="currentColor"
                    strokeWidth="2"
                    strokeLinecap="round"
                    strokeLinejoin="round"
                  />
                </svg>
              </button>
            ) : null}
            {info?.model ? (
              <span className={`model-chip${info.demoModel ? ' model-chip--demo' : ''}`} title="Model answering in this chat">
                {info.model}
              </span>
            ) : null}
          </header>
          {info?.demoModel ? <DemoBanner model={info.model} /> : null}
          {needsToken ? <TokenField hasToken={token !== null} rejected={unauthorized} /> : null}
          {exportError ? (
            <div className="main__notice">
              <ErrorBanner error={exportError} onRetry={() => void exportChat()} />
            </div>
          ) : null}
          {createError ? (
            <div className="main__notice">
              <ErrorBanner error={createError.error} onRetry={() => void startSession(createError.text)} />
            </div>
          ) : null}
          {agentsView ? (
            <AgentsPane view={agentsView} />
          ) : openId ? (
            <SessionPane
              key={openId}
              sessionId={openId}
              initialText={pending?.sessionId === openId ? pending.text : undefined}
              onInitialTextSent={clearPending}
              onAnswerFinished={onAnswerFinished}
              onLeave={leaveSession}
            />
          ) : (
            <div className="chat">
              <div className="chat__scroll">
                <div className="chat__log">
                  <Welcome onPick={(text) => void startSession(text)} disabled={creating} />
                </div>
              </div>
              <Composer busy={false} sendDisabled={creating} onSend={(text) => void startSession(text)} onStop={() => undefined} />
            </div>
          )}
        </main>
      </div>
    </LibraryProvider>
  );
}
