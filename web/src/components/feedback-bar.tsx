// Thumbs up or down on an answer, with an optional comment when it missed; a second click on the
// chosen thumb withdraws it. What is shown is what the server stored.
import { useState, type FormEvent } from 'react';
import { giveFeedback, withdrawFeedback, type Feedback, type FeedbackRating } from '../server-api.js';

type Props = { sessionId: string; messageId: string; initial?: Feedback };

export function FeedbackBar({ sessionId, messageId, initial }: Props) {
  const [stored, setStored] = useState<Feedback | undefined>(initial);
  const [commenting, setCommenting] = useState(false);
  const [comment, setComment] = useState(initial?.comment ?? '');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const save = async (rating: FeedbackRating | null, text?: string): Promise<void> => {
    setBusy(true);
    setProblem(null);
    try {
      if (rating === null) {
        await withdrawFeedback(sessionId, messageId);
        setStored(undefined);
      } else {
        setStored(await giveFeedback(sessionId, messageId, rating, text));
      }
    } catch (error) {
      setProblem(error instanceof Error ? error.message : 'Could not save your feedback.');
    } finally {
      setBusy(false);
    }
  };

  const onThumb = (rating: FeedbackRating): void => {
    if (stored?.rating === rating) {
      setCommenting(false);
      void save(null);
      return;
    }
    setCommenting(rating === 'down');
    void save(rating, rating === stored?.rating ? stored.comment : undefined);
  };

  const onComment = (event: FormEvent): void => {
    event.preventDefault();
    setCommenting(false);
    void save(stored?.rating ?? 'down', comment.trim() || undefined);
  };

  return (
    <div className="feedback" data-testid="feedback">
      <button
        type="button"
        className="feedback__thumb"
        aria-label="Good answer"
        aria-pressed={stored?.rating === 'up'}
        disabled={busy}
        onClick={() => onThumb('up')}
      >
        <Thumb />
      </button>
      <button
        type="button"
        className="feedback__thumb"
        aria-label="Bad answer"
        aria-pressed={stored?.rating === 'down'}
        disabled={busy}
        onClick={() => onThumb('down')}
      >
        <Thumb down />
      </button>
      {stored?.comment && !commenting ? <span className="feedback__comment">“{stored.comment}”</span> : null}
      {commenting ? (
        <form className="feedback__form" onSubmit={onComment}>
          <input
            className="feedback__input"
            aria-label="What went wrong? (optional)"
            placeholder="What went wrong? (optional)"
            maxLength={2000}
            value={comment}
            onChange={(event) => setComment(event.target.value)}
            // biome-ignore lint/a11y/noAutofocus: the box opens because the user asked to explain a rating
            autoFocus
          />
          <button type="submit" className="button button--small" disabled={busy}>
            Send
          </button>
        </form>
      ) : null}
      {problem ? (
        <span className="feedback__error" role="alert">
          {problem}
        </span>
      ) : null}
    </div>
  );
}

/** A thumb drawn as a line icon (emoji depend on the fonts a machine has). */
function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true" style={down ? { transform: 'rotate(180deg)' } : undefined}>
      <path
        d="M7 11v9H4v-9h3zm0 0l4-7c1.2 0 2 .9 2 2v3h5.2c1.1 0 1.9 1 1.7 2.1l-1.3 7A2 2 0 0 1 16.6 20H7"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
        strokeLinejoin="round"
      />
    </svg>
  );
}
