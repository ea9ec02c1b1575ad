/** The few autochat HTTP calls the scenarios make (single-user local mode: no auth header needed). */
import { inBatches } from './load.js';
import { jsonPost, timedStream, type ReadUntil, type TimedStream } from './sse-client.js';

export async function createSession(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/chat/sessions`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  if (response.status !== 201) throw new Error(`creating a session failed: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { sessionId: string }).sessionId;
}

export const createSessions = (baseUrl: string, count: number, concurrency = 20) =>
  inBatches(Array.from({ length: count }), concurrency, () => createSession(baseUrl));

export const sendTurn = (
  baseUrl: string,
  sessionId: string,
  message: string,
  options: { until?: ReadUntil; timeoutMs?: number; signal?: AbortSignal; onFirstDelta?: () => void } = {},
): Promise<TimedStream> =>
  timedStream(`${baseUrl}/api/chat/sessions/${sessionId}/stream`, jsonPost({ message }), { kind: 'ui', timeoutMs: 30_000, ...options });

export const reconnect = (baseUrl: string, sessionId: string, until: ReadUntil = 'first-event'): Promise<TimedStream> =>
  timedStream(`${baseUrl}/api/chat/sessions/${sessionId}/stream`, { method: 'GET' }, { kind: 'ui', until, timeoutMs: 30_000 });

export async function stopRun(baseUrl: string, sessionId: string): Promise<boolean> {
  const response = await fetch(`${baseUrl}/api/chat/sessions/${sessionId}/stop`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  return ((await response.json()) as { stopped: boolean }).stopped;
}

/** The same turn straight to the upstream, as an OpenAI-compatible client would send it. */
export const directTurn = (upstreamUrl: string, message: string, timeoutMs = 30_000): Promise<TimedStream> =>
  timedStream(
    `${upstreamUrl}/chat/completions`,
    jsonPost({
      model: 'bench/chat',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: message }],
    }),
    { kind: 'openai', timeoutMs },
  );

export const baselineTurn = (
  baselineUrl: string,
  message: string,
  options: { timeoutMs?: number; signal?: AbortSignal; onFirstDelta?: () => void } = {},
): Promise<TimedStream> => timedStream(`${baselineUrl}/chat`, jsonPost({ message }), { kind: 'ui', timeoutMs: 30_000, ...options });
