// A live conversation for one session: history, streaming answer, tool calls, errors, stop and resume.
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses } from 'ai';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { describeChatError } from '../api-error.js';
import type { ChatMessage, SessionDetail } from '../api-types.js';
import { authHeaders } from '../auth-token.js';
import { getSession, observedFetch, stopRun, streamPath, switchBranch } from '../server-api.js';
import { dropAwareFetch, isConnectionDropped } from '../stream-drops.js';
import { Composer } from './composer.js';
import { ErrorBanner } from './error-banner.js';
import { MessageItem, TypingDots, messageText, type MessageActions } from './message-item.js';
import { Welcome } from './welcome.js';

interface ChatViewProps {
  session: SessionDetail;
  /** A message typed before the session existed; sent once, right after mounting. */
  initialText?: string;
  onInitialTextSent: () => void;
  onAnswerFinished: () => void;
}

/**
 * The body for the last user message: its text and its id. Sending the id makes a retry of an
 * unanswered message answer the stored one instead of storing it twice.
 */
function lastUserBody(messages: ChatMessage[]): { message: string; messageId?: string } {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message?.role === 'user') return { message: messageText(message), messageId: message.id || undefined };
  }
  return { message: '' };
}

/** The stored parent of a message; when it is not known, the message shown before it (or none). */
async function parentOf(sessionId: string, message: ChatMessage, before: ChatMessage | undefined): Promise<string | null> {
  if (message.parentId !== undefined) return message.parentId;
  try {
    const stored = (await getSession(sessionId)).messages.find((candidate) => candidate.id === message.id);
    if (stored?.parentId !== undefined) return stored.parentId;
  } catch {
    // the guess below is what this tab shows
  }
  return before?.id ?? null;
}

function createTransport(sessionId: string): DefaultChatTransport<ChatMessage> {
  const api = streamPath(sessionId);
  return new DefaultChatTransport<ChatMessage>({
    api,
    headers: () => authHeaders(),
    fetch: dropAwareFetch(observedFetch),
    // The server keeps the history; it only needs the new text (and, for an edit, where it branches
    // from). Regenerating a given answer sends the useChat body, which names it; after tool approvals
    // were answered (addToolApprovalResponse), the answer whose calls carry them.
    prepareSendMessagesRequest: ({ messages, trigger, messageId, body }) => {
      if (trigger === 'regenerate-message' && messageId) {
        const question = messages.findLast((message) => message.role === 'user');
        return { body: { messages: question ? [question] : messages.slice(-1), trigger, messageId } };
      }
      const last = messages.at(-1);
      if (last?.role === 'assistant') return { body: { id: sessionId, messages: [last], trigger, messageId } };
      const parentId = (body as { parentId?: string | null } | undefined)?.parentId;
      return { body: parentId === undefined ? lastUserBody(messages) : { ...lastUserBody(messages), parentId } };
    },
    prepareReconnectToStreamRequest: () => ({ api }),
  });
}

export function ChatView({ session, initialText, onInitialTextSent, onAnswerFinished }: ChatViewProps) {
  const { sessionId } = session;
  // While a run is active the stored history may already hold its partial answer; the resumed
  // stream replays that answer from its first event, so start without it to avoid showing it twice.
  // An answer waiting for tool approvals runs nowhere: it is shown as stored, with its questions.
  const waiting = (session.pendingApprovals?.length ?? 0) > 0;
  const dropPartial = session.status === 'running' && !waiting && session.messages.at(-1)?.role === 'assistant';
  // Only the first render matters: useChat owns the messages from then on.
  const [initialMessages] = useState(() => (dropPartial ? session.messages.slice(0, -1) : session.messages));
  const transport = useMemo(() => createTransport(sessionId), [sessionId]);
  const streamDelivered = useRef(false);
  // Reattaches after a dropped connection (set once useChat exists); counts drops in a row, so a
  // server that keeps cutting the stream ends in the error banner rather than a loop.
  const reattach = useRef<() => void>(() => {});
  const dropsInARow = useRef(0);
  const dropped = useRef(false);
  const lastAction = useRef<'send' | 'resume'>('send');
  const [stoppedIds, setStoppedIds] = useState<ReadonlySet<string>>(() => new Set());
  /** Set when an answer made a new version: the stored session then tells which versions there are. */
  const reloadAfterAnswer = useRef(false);
  const [versionProblem, setVersionProblem] = useState<string | null>(null);

  const { messages, setMessages, sendMessage, regenerate, resumeStream, stop, status, error, clearError, addToolApprovalResponse } =
    useChat<ChatMessage>({
      id: sessionId,
      messages: initialMessages,
      transport,
      // Once every tool call of the answer is approved or denied, the answer goes on.
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
      onError: (failure) => {
        dropped.current = isConnectionDropped(failure);
      },
      onFinish: ({ message, isAbort, isError }) => {
        // The connection dropped mid-answer (a network blip, or its server went away and another
        // continues the answer): the answer goes on on the server, so reattach; it is replayed from
        // its start and shown once.
        if (isError && dropped.current && dropsInARow.current < 3) {
          dropsInARow.current += 1;
          setTimeout(() => reattach.current(), 0);
          return;
        }
        dropsInARow.current = 0;
        streamDelivered.current = true;
        if (isAbort && message.role === 'assistant') setStoppedIds((ids) => new Set(ids).add(message.id));
        if (reloadAfterAnswer.current) {
          reloadAfterAnswer.current = false;
          void getSession(sessionId)
            .then((fresh) => setMessages(fresh.messages))
            .catch(() => undefined);
        }
        onAnswerFinished();
      },
    });

  const busy = status === 'submitted' || status === 'streaming';
  reattach.current = () => {
    lastAction.current = 'resume';
    streamDelivered.current = false;
    const drops = dropsInARow.current;
    // The replay brings the answer from its start: the partial copy on screen goes first.
    setMessages((current) => (current.at(-1)?.role === 'assistant' ? current.slice(0, -1) : current));
    void resumeStream().then(async () => {
      // Nothing was running any more (the answer ended while reconnecting): show it as saved.
      if (streamDelivered.current || dropsInARow.current !== drops) return;
      try {
        setMessages((await getSession(sessionId)).messages);
      } catch {
        // the Retry of the error banner is left
      }
    });
  };

  // Reattach to a run that is still going (after a reload, or from another tab). The server
  // answers 204 when nothing is running, so this is cheap when the status is unknown.
  const resumeStarted = useRef(false);
  useEffect(() => {
    if (resumeStarted.current || initialText || session.status === 'idle' || waiting) return;
    resumeStarted.current = true;
    lastAction.current = 'resume';
    void resumeStream().then(async () => {
      if (!dropPartial || streamDelivered.current) return;
      // The run ended between loading the session and reconnecting: show what was saved.
      try {
        const fresh = await getSession(sessionId);
        setMessages(fresh.messages);
      } catch {
        setMessages(session.messages);
      }
    });
  }, [dropPartial, initialText, resumeStream, session.messages, session.status, sessionId, setMessages, waiting]);

  const onApprovalResponse = useCallback(
    (approvalId: string, approved: boolean) => {
      stickToBottom.current = true;
      lastAction.current = 'send';
      clearError();
      void addToolApprovalResponse({ id: approvalId, approved });
    },
    [addToolApprovalResponse, clearError],
  );

  const initialSent = useRef(false);
  useEffect(() => {
    if (!initialText || initialSent.current) return;
    initialSent.current = true;
    onInitialTextSent();
    void sendMessage({ text: initialText });
  }, [initialText, onInitialTextSent, sendMessage]);

  const send = useCallback(
    (text: string) => {
      stickToBottom.current = true;
      lastAction.current = 'send';
      clearError();
      void sendMessage({ text });
    },
    [clearError, sendMessage],
  );

  const onStop = useCallback(() => {
    // Aborting the fetch only detaches this tab; the stop route really ends the model call.
    void stopRun(sessionId).catch(() => undefined);
    void stop();
  }, [sessionId, stop]);

  const actions = useMemo<MessageActions>(
    () => ({
      busy,
      onEdit: (message, text) => {
        const index = messages.findIndex((shown) => shown.id === message.id);
        if (index < 0) return;
        stickToBottom.current = true;
        lastAction.current = 'send';
        reloadAfterAnswer.current = true;
        clearError();
        setVersionProblem(null);
        setMessages(messages.slice(0, index));
        // The edit follows what the edited message followed: a new version of it, never a rewrite. A
        // message sent from this tab does not know its parent yet (what is shown before it may be an
        // answer that failed and was never stored): the stored chat says.
        void parentOf(sessionId, message, messages[index - 1]).then((parentId) => sendMessage({ text }, { body: { parentId } }));
      },
      onRegenerate: (message) => {
        lastAction.current = 'send';
        reloadAfterAnswer.current = true;
        clearError();
        setVersionProblem(null);
        void regenerate({ messageId: message.id });
      },
      onFlip: (messageId) => {
        setVersionProblem(null);
        switchBranch(sessionId, messageId)
          .then((fresh) => setMessages(fresh.messages))
          .catch((problem: unknown) => setVersionProblem(problem instanceof Error ? problem.message : 'Could not show that version.'));
      },
    }),
    [busy, clearError, messages, regenerate, sendMessage, sessionId, setMessages],
  );

  const retry = useCallback(() => {
    clearError();
    if (lastAction.current === 'resume' || messages.length === 0) void resumeStream();
    else void regenerate();
  }, [clearError, messages.length, regenerate, resumeStream]);

  useEffect(() => {
    if (!busy) return;
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape' && !event.defaultPrevented) onStop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy, onStop]);

  // Follow the answer as it streams, unless the reader has scrolled up.
  const scrollRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const onScroll = (): void => {
    const box = scrollRef.current;
    if (box) stickToBottom.current = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  };
  useLayoutEffect(() => {
    const box = scrollRef.current;
    if (box && stickToBottom.current) box.scrollTop = box.scrollHeight;
  }, [messages, status, error]);

  const lastMessage = messages.at(-1);
  const waitingForFirstToken = status === 'submitted' && lastMessage?.role !== 'assistant';
  const chatError = error ? describeChatError(error) : null;

  return (
    <div className="chat">
      <div className="chat__scroll" ref={scrollRef} onScroll={onScroll}>
        <div className="chat__log" aria-live="polite" aria-relevant="additions">
          {messages.length === 0 && !busy && !chatError ? <Welcome onPick={send} /> : null}
          {messages.map((message, index) => (
            <MessageItem
              key={message.id}
              message={message}
              sessionId={sessionId}
              streaming={busy && index === messages.length - 1 && message.role === 'assistant'}
              stopped={stoppedIds.has(message.id)}
              actions={actions}
              onApprovalResponse={busy ? undefined : onApprovalResponse}
            />
          ))}
          {versionProblem ? (
            <div className="versions__problem" role="alert">
              {versionProblem}
            </div>
          ) : null}
          {waitingForFirstToken ? (
            <div className="message message--assistant" data-testid="message-pending">
              <div className="message__avatar" aria-hidden="true">
                ✦
              </div>
              <div className="message__content">
                <TypingDots />
              </div>
            </div>
          ) : null}
          {chatError ? <ErrorBanner error={chatError} onRetry={retry} /> : null}
        </div>
      </div>
      <Composer busy={busy} onSend={send} onStop={onStop} />
    </div>
  );
}
