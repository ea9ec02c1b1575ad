// "Executions": the agents you ran, newest first; the open one shows its output live (from its first
// event, on any server), with Stop while it runs and Run again once it ended.
import { useCallback, useEffect, useState } from 'react';
import type { UIMessage } from 'ai';
import { ApiError } from '../api-error.js';
import { agentsViewHref, openAgentsView } from '../agents-route.js';
import { followExecution, getExecution, isLive, listExecutions, stopExecution, type Execution } from '../executions-api.js';
import { ErrorBanner } from './error-banner.js';
import { MarkdownText } from './markdown-text.js';
import { RunForm } from './run-form.js';
import { ToolPart } from './tool-part.js';

const asApiError = (error: unknown, fallback: string) => (ApiError.isInstance(error) ? error : new ApiError(fallback, 'internal'));

function StatusBadge({ status }: { status: Execution['status'] }) {
  return (
    <span className={`execution-status execution-status--${status}`} data-testid="execution-status">
      {status}
    </span>
  );
}

function Output({ message, live }: { message: UIMessage | null; live: boolean }) {
  if (!message) return live ? <p className="agents-view__empty">Starting…</p> : null;
  return (
    <div className="execution-output" data-testid="execution-output">
      {message.parts.map((part, index) => {
        // biome-ignore-start lint/suspicious/noArrayIndexKey: an answer's parts have no ids, and only ever grow at the end
        if (part.type === 'text') return <MarkdownText key={index} text={part.text} />;
        if (part.type.startsWith('tool-'))
          return <ToolPart key={index} part={part as Parameters<typeof ToolPart>[0]['part']} live={live} />;
        // biome-ignore-end lint/suspicious/noArrayIndexKey: see above
        return null;
      })}
    </div>
  );
}

function ExecutionDetail({ executionId, onChanged }: { executionId: string; onChanged: () => void }) {
  const [execution, setExecution] = useState<Execution | null>(null);
  const [message, setMessage] = useState<UIMessage | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [rerun, setRerun] = useState(false);

  const refresh = useCallback(
    async (signal?: AbortSignal) => {
      const loaded = await getExecution(executionId, signal);
      setExecution(loaded);
      return loaded;
    },
    [executionId],
  );

  useEffect(() => {
    const controller = new AbortController();
    setMessage(null);
    setExecution(null);
    setError(null);
    setRerun(false);
    (async () => {
      try {
        const loaded = await refresh(controller.signal);
        if (!isLive(loaded.status) && loaded.output) setMessage(loaded.output);
        else await followExecution(executionId, setMessage, controller.signal);
        if (!controller.signal.aborted) {
          const ended = await refresh(controller.signal);
          if (ended.output) setMessage(ended.output);
          onChanged();
        }
      } catch (failure) {
        if (!controller.signal.aborted) setError(asApiError(failure, 'Could not load this execution.'));
      }
    })();
    return () => controller.abort();
  }, [executionId, refresh, onChanged]);

  const stop = async () => {
    try {
      await stopExecution(executionId);
    } catch (failure) {
      setError(asApiError(failure, 'Could not stop the execution.'));
    }
  };

  if (error) return <ErrorBanner error={error} />;
  if (!execution) return <p className="agents-view__empty">Loading…</p>;
  const live = isLive(execution.status);
  return (
    <article className="execution-detail" data-testid="execution-detail" aria-label={`${execution.agentName} execution`}>
      <header className="agents-view__row">
        <div>
          <h3 className="agent-card__name">{execution.agentName}</h3>
          <p className="agent-card__sub">
            <StatusBadge status={execution.status} /> · started {new Date(execution.createdAt).toLocaleString()}
            {execution.usage ? ` · ${execution.usage.totalTokens.toLocaleString()} tokens` : ''}
          </p>
        </div>
        {live ? (
          <button type="button" className="button button--small" onClick={() => void stop()} data-testid="execution-stop">
            Stop
          </button>
        ) : (
          <button type="button" className="button button--small" onClick={() => setRerun(true)} data-testid="execution-rerun">
            Run again
          </button>
        )}
      </header>
      <dl className="execution-inputs">
        {Object.entries(execution.inputs).map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{Array.isArray(value) ? value.join(', ') : String(value)}</dd>
          </div>
        ))}
      </dl>
      {rerun ? (
        <RunForm
          slug={execution.slug}
          initial={execution.inputs}
          onCancel={() => setRerun(false)}
          onStarted={(id) => openAgentsView({ kind: 'executions', executionId: id })}
        />
      ) : null}
      {execution.error ? (
        <p className="execution-error" role="alert">
          {execution.error}
        </p>
      ) : null}
      <Output message={message} live={live} />
    </article>
  );
}

export function ExecutionsView({ executionId }: { executionId?: string }) {
  const [executions, setExecutions] = useState<Execution[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(() => {
    listExecutions().then(
      (page) => {
        setExecutions(page.executions);
        setError(null);
      },
      (failure: unknown) => setError(asApiError(failure, 'Could not load your executions.')),
    );
  }, []);
  useEffect(load, [load, executionId]);

  return (
    <section className="agents-view" aria-label="Executions" data-testid="executions-view">
      <h2 className="agents-view__title">Executions</h2>
      {error ? <ErrorBanner error={error} onRetry={load} /> : null}
      {executionId ? <ExecutionDetail executionId={executionId} onChanged={load} /> : null}
      {executions && executions.length === 0 ? (
        <p className="agents-view__empty">No executions yet. Run an agent from your Library.</p>
      ) : null}
      <ul className="agents-view__list">
        {(executions ?? []).map((execution) => (
          <li
            key={execution.executionId}
            className={`execution-item${execution.executionId === executionId ? ' execution-item--open' : ''}`}
          >
            <a href={agentsViewHref({ kind: 'executions', executionId: execution.executionId })} data-testid="execution-link">
              <span>{execution.agentName}</span> <StatusBadge status={execution.status} />{' '}
              <time dateTime={execution.createdAt}>{new Date(execution.createdAt).toLocaleString()}</time>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
