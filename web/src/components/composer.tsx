// The message box: Enter sends, Shift+Enter adds a line, Esc stops; Send turns into Stop while answering.
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';

interface ComposerProps {
  busy: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
  /** Blocks sending (not typing), e.g. while a session is being created. */
  sendDisabled?: boolean;
  autoFocus?: boolean;
}

export function Composer({ busy, onSend, onStop, sendDisabled = false, autoFocus = true }: ComposerProps) {
  const [text, setText] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);

  useLayoutEffect(() => {
    const box = ref.current;
    if (!box) return;
    box.style.height = 'auto';
    box.style.height = `${box.scrollHeight}px`;
  }, [text]);

  useEffect(() => {
    if (autoFocus) ref.current?.focus();
  }, [autoFocus]);

  const canSend = !busy && !sendDisabled && text.trim() !== '';

  const send = (): void => {
    if (!canSend) return;
    onSend(text.trim());
    setText('');
  };

  const onSubmit = (event: FormEvent): void => {
    event.preventDefault();
    if (busy) onStop();
    else send();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'Escape' && busy) {
      // preventDefault tells the page-wide Esc handler that this press is already handled.
      event.preventDefault();
      onStop();
    }
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      <div className="composer__box">
        <textarea
          ref={ref}
          className="composer__input"
          aria-label="Message"
          data-testid="message-input"
          placeholder="Ask for an agent, e.g. “find me an agent that writes SEO blog posts”"
          rows={1}
          value={text}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
        />
        {busy ? (
          <button type="submit" className="composer__button composer__button--stop" aria-label="Stop" data-testid="stop" title="Stop (Esc)">
            <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
              <rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" />
            </svg>
          </button>
        ) : (
          <button type="submit" className="composer__button" aria-label="Send" data-testid="send" disabled={!canSend} title="Send (Enter)">
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
              <path
                d="M12 19V5M5 12l7-7 7 7"
                fill="none"
                stroke="currentColor"
                strokeWidth="2.2"
                strokeLinecap="round"
                strokeLinejoin="round"
              />
            </svg>
          </button>
        )}
      </div>
      <p className="composer__hint">Enter to send · Shift+Enter for a new line · Esc to stop</p>
    </form>
  );
}
