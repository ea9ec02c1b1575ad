// "‹ 2/3 ›" under a message that has other versions (edits, regenerated answers): flips between them.
import type { ChatMessage } from '../api-types.js';

interface VersionSwitcherProps {
  message: ChatMessage;
  disabled: boolean;
  onFlip: (messageId: string) => void;
}

export function VersionSwitcher({ message, disabled, onFlip }: VersionSwitcherProps) {
  const { branch, siblingIds } = message;
  if (!branch || !siblingIds || branch.count < 2) return null;
  const previous = siblingIds[branch.index - 1];
  const next = siblingIds[branch.index + 1];
  return (
    <span className="versions" data-testid="versions">
      <button
        type="button"
        className="versions__button"
        aria-label="Previous version"
        disabled={disabled || !previous}
        onClick={() => previous && onFlip(previous)}
      >
        ‹
      </button>
      <span className="versions__position" data-testid="version-position">
        {branch.index + 1}/{branch.count}
      </span>
      <button
        type="button"
        className="versions__button"
        aria-label="Next version"
        disabled={disabled || !next}
        onClick={() => next && onFlip(next)}
      >
        ›
      </button>
    </span>
  );
}
