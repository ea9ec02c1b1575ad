// A compact, expandable record of one tool call: its name, input and output (or error).
interface ToolBlockProps {
  toolName: string;
  state: string;
  input: unknown;
  output?: unknown;
  errorText?: string;
}

function toJson(value: unknown): string {
  if (value === undefined) return '—';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

const stateLabels: Record<string, string> = {
  'input-streaming': 'preparing',
  'input-available': 'running',
  'output-available': 'done',
  'output-error': 'failed',
  'output-denied': 'denied',
};

export function ToolBlock({ toolName, state, input, output, errorText }: ToolBlockProps) {
  const failed = state === 'output-error' || state === 'output-denied';
  return (
    <details className={`tool-block${failed ? ' tool-block--error' : ''}`} data-testid="tool-block">
      <summary>
        <span className="tool-block__icon" aria-hidden="true">
          ⚙
        </span>
        <code className="tool-block__name">{toolName}</code>
        <span className={`tool-block__state tool-block__state--${failed ? 'error' : 'ok'}`}>{stateLabels[state] ?? state}</span>
      </summary>
      <div className="tool-block__body">
        <div className="tool-block__label">Input</div>
        <pre>{toJson(input)}</pre>
        {failed ? (
          <>
            <div className="tool-block__label">Error</div>
            <pre className="tool-block__error">{errorText ?? 'The tool call failed.'}</pre>
          </>
        ) : state === 'output-available' ? (
          <>
            <div className="tool-block__label">Output</div>
            <pre>{toJson(output)}</pre>
          </>
        ) : null}
      </div>
    </details>
  );
}
