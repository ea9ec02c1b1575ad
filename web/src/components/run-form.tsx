// The form that runs an agent, built from its `inputs` schema: a field per input (text, a choice, a
// number, a yes/no, a list one item per line), required ones marked, defaults filled in. The server
// checks the values again and names what is wrong.
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api-error.js';
import { getAgentSetup, startExecution, type AgentInput, type AgentSetup } from '../executions-api.js';
import { ErrorBanner } from './error-banner.js';

interface RunFormProps {
  slug: string;
  /** Values to start from (a re-run). */
  initial?: Record<string, unknown>;
  onStarted: (executionId: string) => void;
  onCancel: () => void;
}

const asText = (value: unknown): string =>
  Array.isArray(value) ? value.join('\n') : value === undefined || value === null ? '' : String(value);

function Field({
  name,
  input,
  required,
  value,
  onChange,
}: {
  name: string;
  input: AgentInput;
  required: boolean;
  value: string;
  onChange: (value: string) => void;
}) {
  const id = `run-input-${name}`;
  const choices = input.type === 'string' ? input.enum : undefined;
  const label = (
    <label htmlFor={id} className="run-form__label">
      {input.title}
      {required ? (
        <span className="run-form__required" role="img" aria-label="required">
          {' '}
          *
        </span>
      ) : null}
    </label>
  );
  let control: ReactNode;
  if (input.type === 'boolean') {
    control = (
      <input
        id={id}
        name={name}
        type="checkbox"
        checked={value === 'true'}
        onChange={(event) => onChange(event.target.checked ? 'true' : 'false')}
      />
    );
  } else if (choices) {
    control = (
      <select id={id} name={name} value={value} required={required} onChange={(event) => onChange(event.target.value)}>
        {required ? null : <option value="">—</option>}
        {choices.map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    );
  } else if (input.type === 'array' || (input.type === 'string' && (input.maxLength ?? 32000) > 300)) {
    const placeholder = input.type === 'array' ? 'One item per line' : asText(input.examples?.[0]);
    control = (
      <textarea
        id={id}
        name={name}
        rows={3}
        value={value}
        required={required}
        placeholder={placeholder}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  } else {
    const type =
      input.type === 'number' || input.type === 'integer'
        ? 'number'
        : input.format === 'date'
          ? 'date'
          : input.format === 'email'
            ? 'email'
            : input.format === 'uri'
              ? 'url'
              : 'text';
    control = (
      <input
        id={id}
        name={name}
        type={type}
        value={value}
        required={required}
        min={input.minimum}
        max={input.maximum}
        step={input.type === 'integer' ? 1 : 'any'}
        placeholder={asText(input.examples?.[0])}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  }
  return (
    <div className="run-form__field">
      {label}
      {control}
      <p className="run-form__help">{input.description}</p>
    </div>
  );
}

export function RunForm({ slug, initial, onStarted, onCancel }: RunFormProps) {
  const [setup, setSetup] = useState<AgentSetup | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [starting, setStarting] = useState(false);

  useEffect(() => {
    let live = true;
    getAgentSetup(slug).then(
      (loaded) => {
        if (!live) return;
        setSetup(loaded);
        const start: Record<string, string> = {};
        for (const [name, input] of Object.entries(loaded.inputs.properties))
          start[name] = asText(initial?.[name] ?? input.default ?? (input.type === 'boolean' ? false : ''));
        setValues(start);
      },
      (failure: unknown) =>
        live && setError(ApiError.isInstance(failure) ? failure : new ApiError('Could not load this agent.', 'internal')),
    );
    return () => {
      live = false;
    };
  }, [slug, initial]);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!setup) return;
    setStarting(true);
    setError(null);
    const inputs: Record<string, unknown> = {};
    for (const [name, input] of Object.entries(setup.inputs.properties)) {
      const value = values[name] ?? '';
      if (value.trim() === '') continue;
      inputs[name] =
        input.type === 'array'
          ? value
              .split('\n')
              .map((item) => item.trim())
              .filter(Boolean)
          : value;
    }
    try {
      onStarted((await startExecution(slug, inputs)).executionId);
    } catch (failure) {
      setError(ApiError.isInstance(failure) ? failure : new ApiError('Could not start the agent.', 'internal'));
    } finally {
      setStarting(false);
    }
  };

  return (
    <form className="run-form" onSubmit={(event) => void submit(event)} data-testid="run-form" aria-label={`Run ${setup?.name ?? slug}`}>
      <h3 className="run-form__title">Run {setup?.name ?? slug}</h3>
      {error ? <ErrorBanner error={error} /> : null}
      {setup
        ? Object.entries(setup.inputs.properties).map(([name, input]) => (
            <Field
              key={name}
              name={name}
              input={input}
              required={setup.inputs.required.includes(name)}
              value={values[name] ?? ''}
              onChange={(value) => setValues((previous) => ({ ...previous, [name]: value }))}
            />
          ))
        : null}
      <div className="run-form__actions">
        <button type="submit" className="button button--primary" disabled={!setup || starting}>
          {starting ? 'Starting…' : 'Run'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
