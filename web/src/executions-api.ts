// Agent executions over the HTTP API (docs/api.md, "Running agents"): what an agent needs, run it,
// list, read, follow live (the same UI message stream as chat answers) and stop.
import { parseJsonEventStream } from '@ai-sdk/provider-utils';
import { readUIMessageStream, uiMessageChunkSchema, type UIMessage, type UIMessageChunk } from 'ai';
import { ApiError, apiErrorFromBody } from './api-error.js';
import type { Execution, ExecutionPage, ExecutionStatus, StartedExecution } from './api-types.js';
import { authHeaders, markUnauthorized } from './auth-token.js';
import { request } from './server-api.js';

export type { Execution, ExecutionStatus };

export interface AgentInput {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array';
  title: string;
  description: string;
  enum?: string[];
  format?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  examples?: unknown[];
  items?: { type: 'string'; enum?: string[] };
}

export interface AgentSetup {
  slug: string;
  name: string;
  inputs: { type: 'object'; properties: Record<string, AgentInput>; required: string[] };
  missing: string[];
}

export const isLive = (status: ExecutionStatus): boolean => status === 'queued' || status === 'running';

export const getAgentSetup = (slug: string) => request<AgentSetup>(`/api/store/agents/${encodeURIComponent(slug)}/setup`);

export const startExecution = (slug: string, inputs: Record<string, unknown>) =>
  request<StartedExecution>('/api/executions', { method: 'POST', body: { slug, inputs } });

export const listExecutions = () => request<ExecutionPage>('/api/executions?limit=50');

export const getExecution = (executionId: string, signal?: AbortSignal) =>
  request<Execution>(`/api/executions/${encodeURIComponent(executionId)}`, { signal });

export const stopExecution = (executionId: string) =>
  request<{ stopped: boolean }>(`/api/executions/${encodeURIComponent(executionId)}/stop`, { method: 'POST', body: {} });

/**
 * Follows an execution's stream from its first event, calling `onMessage` with the output as it grows
 * (rebuilt by the AI SDK, as `useChat` does). Resolves when the stream ends.
 */
export async function followExecution(
  executionId: string,
  onMessage: (message: UIMessage, chunk?: UIMessageChunk) => void,
  signal: AbortSignal,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`/api/executions/${encodeURIComponent(executionId)}/stream`, {
      headers: { accept: 'text/event-stream', ...authHeaders() },
      signal,
    });
  } catch {
    if (signal.aborted) return;
    throw new ApiError('Could not reach the server. Check your connection and try again.', 'network_error');
  }
  if (response.status === 401) markUnauthorized();
  if (!response.ok || !response.body) throw apiErrorFromBody(await response.text(), response.status, response.headers.get('retry-after'));
  const chunks = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (result.success) controller.enqueue(result.value);
      },
    }),
  );
  for await (const message of readUIMessageStream({ stream: chunks as ReadableStream<UIMessageChunk>, terminateOnError: false })) {
    if (signal.aborted) return;
    onMessage(message);
  }
}
