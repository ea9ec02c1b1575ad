// Typed calls to the autochat HTTP API; every request carries the bearer token when one is set.
import { ApiError, apiErrorFromBody } from './api-error.js';
import type { AgentSummary, Feedback, ServerInfo, SessionDetail, SessionPage, SessionSummary, UsageReport } from './api-types.js';
import { authHeaders, markUnauthorized } from './auth-token.js';

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError('Could not reach the server. Check your connection and try again.', 'network_error');
  }
  if (response.status === 401) markUnauthorized();
  if (!response.ok) {
    throw apiErrorFromBody(await response.text(), response.status, response.headers.get('retry-after'));
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** The fetch the chat transport uses, so a 401 on the stream also asks for a token. */
export const observedFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.status === 401) markUnauthorized();
  return response;
};

const sessionPath = (sessionId: string): string => `/api/chat/sessions/${encodeURIComponent(sessionId)}`;

export const streamPath = (sessionId: string): string => `${sessionPath(sessionId)}/stream`;

export function listSessions(cursor?: string | null): Promise<SessionPage> {
  const query = new URLSearchParams({ limit: '50' });
  if (cursor) query.set('cursor', cursor);
  return request<SessionPage>(`/api/chat/sessions?${query.toString()}`);
}

export function createSession(): Promise<SessionSummary> {
  return request<SessionSummary>('/api/chat/sessions', { method: 'POST', body: {} });
}

export function getSession(sessionId: string, signal?: AbortSignal): Promise<SessionDetail> {
  return request<SessionDetail>(sessionPath(sessionId), { signal });
}

export function deleteSession(sessionId: string): Promise<void> {
  return request<void>(sessionPath(sessionId), { method: 'DELETE' });
}

/** Shows another version of the chat: the latest messages under `messageId` become the ones shown. */
export function switchBranch(sessionId: string, messageId: string): Promise<SessionDetail> {
  return request<SessionDetail>(`${sessionPath(sessionId)}/active-leaf`, { method: 'PUT', body: { messageId } });
}

export function stopRun(sessionId: string): Promise<{ stopped: boolean }> {
  return request<{ stopped: boolean }>(`${sessionPath(sessionId)}/stop`, { method: 'POST', body: {} });
}

export function getUsage(): Promise<UsageReport> {
  return request<UsageReport>('/api/usage');
}

/** `null` when the server predates `/api/info`; the UI then just shows no banner. */
export async function getServerInfo(): Promise<ServerInfo | null> {
  try {
    return await request<ServerInfo>('/api/info');
  } catch (error) {
    if (ApiError.isInstance(error) && error.status === 401) throw error;
    return null;
  }
}

export function listLibrary(): Promise<{ agents: AgentSummary[] }> {
  return request<{ agents: AgentSummary[] }>('/api/library');
}

export function addToLibrary(slug: string): Promise<AgentSummary | Record<string, unknown>> {
  return request<AgentSummary | Record<string, unknown>>('/api/library', { method: 'POST', body: { slug } });
}

export type FeedbackRating = Feedback['rating'];
export type { Feedback };

export function giveFeedback(sessionId: string, messageId: string, rating: FeedbackRating, comment?: string): Promise<Feedback> {
  return request<Feedback>(`${sessionPath(sessionId)}/messages/${encodeURIComponent(messageId)}/feedback`, {
    method: 'PUT',
    body: comment ? { rating, comment } : { rating },
  });
}

export function withdrawFeedback(sessionId: string, messageId: string): Promise<void> {
  return request<void>(`${sessionPath(sessionId)}/messages/${encodeURIComponent(messageId)}/feedback`, { method: 'DELETE' });
}

/** Downloads the chat as a Markdown file, named by the server after its title. */
export async function downloadChatMarkdown(sessionId: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${sessionPath(sessionId)}/export?format=md`, { headers: authHeaders() });
  } catch {
    throw new ApiError('Could not reach the server. Check your connection and try again.', 'network_error');
  }
  if (response.status === 401) markUnauthorized();
  if (!response.ok) throw apiErrorFromBody(await response.text(), response.status, response.headers.get('retry-after'));
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'chat.md';
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
