// One message of the conversation: the user's text, or the assistant's Markdown and tool calls.
import { isToolUIPart } from 'ai';
import { useState, type FormEvent } from 'react';
import type { ChatMessage } from '../api-types.js';
import { formatTokens } from '../number-format.js';
import { PencilIcon, RegenerateIcon } from './action-icons.js';
import { FeedbackBar } from './feedback-bar.js';
import { MarkdownText } from './markdown-text.js';
import { ToolPart } from './tool-part.js';
import { VersionSwitcher } from './version-switcher.js';

/** What a person can do to a message besides reading it; absent while nothing may be done. */
export interface MessageActions {
  /** True while an answer streams: versions cannot be changed then. */
  busy: boolean;
  /** Sends `text` as a new version of this user message. */
  onEdit: (message: ChatMessage, text: string) => void;
  /** Asks for a new version of this answer. */
  onRegenerate: (message: ChatMessage) => void;
  /** Shows the version `messageId` (a sibling of this message). */
  onFlip: (messageId: string) => void;
}

interface MessageItemProps {
  message: ChatMessage;
  /** The session the message belongs to (for feedback on answers). */
  sessionId: string;
  /** True for the assistant message that is still streaming. */
  streaming: boolean;
  /** True when the user stopped this answer part-way. */
  stopped?: boolean;
  actions?: MessageActions;
  /** Answers a tool call that waits for the user's approval. */
  onApprovalResponse?: (approvalId: string, approved: boolean) => void;
}

export function messageText(message: ChatMessage): string {
  return message.parts
    .map((part) => (part.type === 'text' ? part.text : ''))
    .join('')
    .trim();
}

function UserMessage({ message, actions }: { message: ChatMessage; actions?: MessageActions }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const text = draft.trim();
    if (!text || !actions) return;
    setEditing(false);
    actions.onEdit(message, text);
  };
  if (editing) {
    return (
      <div className="message message--user" data-testid="message-user">
        <form className="message__edit" onSubmit={submit}>
          <textarea
            className="message__edit-input"
            aria-label="Edit your message"
            value={draft}
            // biome-ignore lint/a11y/noAutofocus: the box opens because the user asked to edit the message
            autoFocus
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Escape') setEditing(false);
            }}
          />
          <div className="message__edit-actions">
            <button type="button" className="message__action" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="message__action message__action--primary" disabled={!draft.trim()}>
              Send
            </button>
          </div>
        </form>
      </div>
    );
  }
  return (
    <div className="message message--user" data-testid="message-user">
      <div className="message__bubble">{messageText(message)}</div>
      {actions ? (
        <div className="message__tools">
          <VersionSwitcher message={message} disabled={actions.busy} onFlip={actions.onFlip} />
          <button
            type="button"
            className="message__action"
            aria-label="Edit message"
            title="Edit (sends it as a new version)"
            disabled={actions.busy}
            onClick={() => {
              setDraft(messageText(message));
              setEditing(true);
            }}
          >
            <PencilIcon />
          </button>
        </div>
      ) : null}
    </div>
  );
}

function AssistantMessage({ message, sessionId, streaming, stopped = false, actions, onApprovalResponse }: MessageItemProps) {
  const usage = message.metadata?.usage;
  const lastPart = message.parts[message.parts.length - 1];
  const hasVisible = message.parts.some((part) => (part.type === 'text' && part.text.trim() !== '') || isToolUIPart(part));
  // An answer that failed before its first word has nothing to show; the error banner says why.
  const hasReasoning = message.parts.some((part) => part.type === 'reasoning' && part.text.trim() !== '');
  if (!streaming && !hasVisible && !hasReasoning && !usage && !stopped) return null;
  return (
    <div
      className={`message message--assistant${streaming ? ' message--streaming' : ''}`}
      data-testid="message-assistant"
      aria-busy={streaming}
    >
      <div className="message__avatar" aria-hidden="true">
        ✦
      </div>
      <div className="message__content">
        {message.parts.map((part, index) => {
          const key = `${message.id}-${index}`;
          if (part.type === 'text') {
            return part.text ? <MarkdownText key={key} text={part.text} /> : null;
          }
          if (part.type === 'reasoning') {
            return part.text.trim() ? (
              <details key={key} className="reasoning">
                <summary>Reasoning</summary>
                <p>{part.text}</p>
              </details>
            ) : null;
          }
          if (isToolUIPart(part)) {
            return <ToolPart key={key} part={part} live={streaming} onApprovalResponse={onApprovalResponse} />;
          }
          return null;
        })}
        {streaming && (!hasVisible || lastPart?.type === 'step-start') ? <TypingDots /> : null}
        {!streaming && message.metadata?.savePending ? (
          <div className="message__pending" role="status" data-testid="save-pending">
            {message.metadata.savePending}
          </div>
        ) : null}
        {!streaming && (usage || stopped) ? (
          <div className="message__meta">
            {stopped ? <span className="message__stopped">Stopped</span> : null}
            {usage ? (
              <span title={`${formatTokens(usage.promptTokens)} prompt + ${formatTokens(usage.completionTokens)} completion tokens`}>
                {formatTokens(usage.totalTokens)} tokens
              </span>
            ) : null}
          </div>
        ) : null}
        {!streaming ? (
          <div className="message__footer">
            {hasVisible ? <FeedbackBar sessionId={sessionId} messageId={message.id} initial={message.metadata?.feedback} /> : null}
            {actions ? (
              <div className="message__tools">
                <VersionSwitcher message={message} disabled={actions.busy} onFlip={actions.onFlip} />
                <button
                  type="button"
                  className="message__action"
                  aria-label="Regenerate answer"
                  title="Regenerate (keeps this answer as another version)"
                  disabled={actions.busy}
                  onClick={() => actions.onRegenerate(message)}
                >
                  <RegenerateIcon />
                </button>
              </div>
            ) : null}
          </div>
        ) : null}
      </div>
    </div>
  );
}

export function TypingDots() {
  return (
    <span className="typing" role="status" aria-label="Assistant is thinking">
      <span />
      <span />
      <span />
    </span>
  );
}

export function MessageItem({ message, sessionId, streaming, stopped, actions, onApprovalResponse }: MessageItemProps) {
  if (message.role === 'user') return <UserMessage message={message} actions={actions} />;
  if (message.role === 'assistant') {
    return (
      <AssistantMessage
        message={message}
        sessionId={sessionId}
        streaming={streaming}
        stopped={stopped}
        actions={actions}
        onApprovalResponse={onApprovalResponse}
      />
    );
  }
  return null;
}
