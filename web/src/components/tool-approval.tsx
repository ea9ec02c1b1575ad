// A tool call that waits for the user's approval: what it would do, and Approve / Deny.
import { useState } from 'react';

interface ToolApprovalProps {
  toolName: string;
  input: unknown;
  approval: { id: string; approved?: boolean };
  /** Absent while the answer cannot take an answer (e.g. it is still streaming elsewhere). */
  onAnswer?: (approvalId: string, approved: boolean) => void;
}

function toJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

export function ToolApproval({ toolName, input, approval, onAnswer }: ToolApprovalProps) {
  const [given, setGiven] = useState<boolean | undefined>(approval.approved);
  const answered = given !== undefined;
  const answer = (approved: boolean) => {
    setGiven(approved);
    onAnswer?.(approval.id, approved);
  };
  return (
    // biome-ignore lint/a11y/useSemanticElements: a card in the answer, not a form; a fieldset would bring form semantics and styling
    <div className="tool-approval" data-testid="tool-approval" role="group" aria-label={`Approve ${toolName}?`}>
      <div className="tool-approval__head">
        <span className="tool-block__icon" aria-hidden="true">
          ⚙
        </span>
        <span>
          Allow <code className="tool-block__name">{toolName}</code>?
        </span>
      </div>
      <pre className="tool-approval__input">{toJson(input)}</pre>
      {answered ? (
        <div className="tool-approval__answer" role="status" data-testid="tool-approval-answer">
          {given ? 'Approved — running…' : 'Denied'}
        </div>
      ) : (
        <div className="tool-approval__actions">
          <button
            type="button"
            className="button button--primary"
            onClick={() => answer(true)}
            disabled={!onAnswer}
            data-testid="approve-tool"
          >
            Approve
          </button>
          <button type="button" className="button" onClick={() => answer(false)} disabled={!onAnswer} data-testid="deny-tool">
            Deny
          </button>
        </div>
      )}
    </div>
  );
}
