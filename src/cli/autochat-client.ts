/**
 * A small HTTP client for a running autochat server, as the terminal chat needs it: server info,
 * sessions, starting a streamed answer and stopping it. Every failure becomes an
 * `AutochatClientError` whose message is fit to print as is.
 */
import { z } from 'zod';
import {
  chatMessage,
  errorResponse,
  executionListResponse,
  executionResponse,
  infoResponse,
  sessionListResponse,
  sessionResponse,
  sessionSummaryResponse,
  startedExecutionResponse,
  stopResponse,
} from '../api/shapes.js';

// The server's own response shapes (api/shapes.ts); the client reads them as the server writes them.

/** The error shape with any code: a newer server's new codes still come with a sentence worth printing. */
const errorBody = errorResponse().extend({ error: errorResponse().shape.error.extend({ code: z.string() }) });

export const serverInfoSchema = infoResponse;
export type ServerInfo = z.infer<typeof serverInfoSchema>;

export const sessionSummarySchema = sessionSummaryResponse;
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

/** The fields of a message part the terminal shows (text, and a tool call's state and values). */
const messagePartSchema = z
  .object({
    type: z.string(),
    text: z.string().optional(),
    state: z.string().optional(),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    errorText: z.string().optional(),
  })
  .loose();
export type HistoryPart = z.infer<typeof messagePartSchema>;

const historyMessageSchema = chatMessage.extend({ parts: z.array(messagePartSchema) });
export type HistoryMessage = z.infer<typeof historyMessageSchema>;

export const sessionSchema = sessionResponse.extend({ messages: z.array(historyMessageSchema) });
export type SessionWithMessages = z.infer<typeof sessionSchema>;

export const executionSummarySchema = executionResponse;
export type ExecutionSummary = z.infer<typeof executionSummarySchema>;

export type AutochatClientErrorKind = 'unreachable' | 'unauthorized' | 'not_found' | 'rate_limited' | 'http' | 'invalid_response';

const marker = Symbol.for('autochat.cli.client-error');

/** A failed call to the server, with a message for a person and the server's error code when it sent one. */
export class AutochatClientError extends Error {
  override readonly name = 'AutochatClientError';
  readonly [marker] = true;

  constructor(
    readonly kind: AutochatClientErrorKind,
    message: string,
    readonly details: { status?: number; code?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }

  static isInstance(error: unknown): error is AutochatClientError {
    return typeof error === 'object' && error !== null && marker in error;
  }

  get retryable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'rate_limited' || (this.details.status ?? 0) >= 500;
  }
}

export type AutochatClientOptions = {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
};

export type AutochatClient = ReturnType<typeof createAutochatClient>;

export function createAutochatClient(options: AutochatClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;

  async function request(path: string, init: RequestInit & { sessionId?: string } = {}): Promise<Response> {
    const { sessionId, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('accept', headers.get('accept') ?? 'application/json');
    if (options.token) headers.set('authorization', `Bearer ${options.token}`);
    if (rest.body !== undefined) headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, { ...rest, headers });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new AutochatClientError(
        'unreachable',
        `cannot reach autochat at ${baseUrl} — is \`autochat serve\` running?${causeHint(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!response.ok) throw await errorFrom(response, sessionId);
    return response;
  }

  async function json<T>(schema: z.ZodType<T>, path: string, init: RequestInit & { sessionId?: string } = {}): Promise<T> {
    const response = await request(path, init);
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new AutochatClientError('invalid_response', `${baseUrl}${path} did not answer with JSON — is this an autochat server?`, {
        cause: error,
      });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new AutochatClientError(
        'invalid_response',
        `${baseUrl}${path} answered with an unexpected shape — is this an autochat server?`,
        {
          cause: parsed.error,
        },
      );
    }
    return parsed.data;
  }

  async function errorFrom(response: Response, sessionId: string | undefined): Promise<AutochatClientError> {
    const text = await response.text().catch(() => '');
    const parsed = errorBody.safeParse(safeJson(text));
    const code = parsed.success ? parsed.data.error.code : undefined;
    const serverMessage = parsed.success ? parsed.data.error.message : `HTTP ${response.status} ${response.statusText}`.trim();
    const details = { status: response.status, code };
    if (response.status === 401) {
      return options.token
        ? new AutochatClientError('unauthorized', `the server refused the token: ${serverMessage}`, details)
        : new AutochatClientError('unauthorized', 'the server requires a token: pass --token or set AUTOCHAT_TOKEN', details);
    }
    if (response.status === 404 && sessionId !== undefined) {
      return new AutochatClientError(
        'not_found',
        `session ${sessionId} not found (it may belong to someone else, or have been deleted)`,
        details,
      );
    }
    if (response.status === 429) {
      const retryAfterSeconds = Number(response.headers.get('retry-after')) || undefined;
      const wait = retryAfterSeconds ? ` (try again in ${formatSeconds(retryAfterSeconds)})` : '';
      return new AutochatClientError('rate_limited', `${serverMessage}${wait}`, { ...details, retryAfterSeconds });
    }
    return new AutochatClientError('http', serverMessage, details);
  }

  return {
    baseUrl,

    info: () => json(serverInfoSchema, '/api/info'),

    createSession: () => json(sessionSummarySchema, '/api/chat/sessions', { method: 'POST' }),

    listSessions: async (limit = 20) => (await json(sessionListResponse, `/api/chat/sessions?limit=${limit}`)).sessions,

    getSession: (sessionId: string) => json(sessionSchema, `/api/chat/sessions/${encodeURIComponent(sessionId)}`, { sessionId }),

    /** Starts an answer; the response body is the SSE stream (read it with `readToEnd`). */
    stream: (sessionId: string, message: StreamRequest, signal?: AbortSignal) =>
      request(`/api/chat/sessions/${encodeURIComponent(sessionId)}/stream`, {
        method: 'POST',
        body: JSON.stringify(streamBodyOf(message)),
        headers: { accept: 'text/event-stream' },
        signal,
        sessionId,
      }),

    /**
     * Attaches to the session's running answer; its stream replays it from the first event. Undefined
     * when no answer is running (204).
     */
    attach: async (sessionId: string, signal?: AbortSignal) => {
      const response = await request(`/api/chat/sessions/${encodeURIComponent(sessionId)}/stream`, {
        headers: { accept: 'text/event-stream' },
        signal,
        sessionId,
      });
      if (response.status !== 204) return response;
      await response.body?.cancel();
      return undefined;
    },

    /**
     * Approves or denies a tool call the answer waits for. When it was the last one wanted, the answer
     * goes on and the response is its SSE stream; otherwise (JSON) there is nothing to read.
     */
    answerApproval: (sessionId: string, approvalId: string, approved: boolean, signal?: AbortSignal) =>
      request(`/api/chat/sessions/${encodeURIComponent(sessionId)}/approvals/${encodeURIComponent(approvalId)}`, {
        method: 'POST',
        body: JSON.stringify({ approved }),
        headers: { accept: 'text/event-stream, application/json' },
        signal,
        sessionId,
      }),

    /** Runs an agent; answers at once with the execution's id (the output is read with `streamExecution`). */
    startExecution: (slug: string, inputs: Record<string, unknown>) =>
      json(startedExecutionResponse, '/api/executions', { method: 'POST', body: JSON.stringify({ slug, inputs }) }),

    /** The execution's events from the first, then live; the response body is the SSE stream (204: no log any more). */
    streamExecution: (executionId: string, signal?: AbortSignal) =>
      request(`/api/executions/${encodeURIComponent(executionId)}/stream`, { headers: { accept: 'text/event-stream' }, signal }),

    getExecution: (executionId: string) => json(executionSummarySchema, `/api/executions/${encodeURIComponent(executionId)}`),

    stopExecution: async (executionId: string) =>
      (await json(stopResponse, `/api/executions/${encodeURIComponent(executionId)}/stop`, { method: 'POST' })).stopped,

    listExecutions: async (limit = 20) => (await json(executionListResponse, `/api/executions?limit=${limit}`)).executions,

    /** Asks the server to stop the session's running answer; true when one was running. */
    stop: async (sessionId: string, signal?: AbortSignal) =>
      (await json(stopResponse, `/api/chat/sessions/${encodeURIComponent(sessionId)}/stop`, { method: 'POST', signal, sessionId })).stopped,
  };
}

/**
 * What an answer answers: a new message (text, or with the message it branches from — an edit), or
 * a new version of the last answer (`regenerate`).
 */
export type StreamRequest = string | { message: string; parentId: string | null } | { regenerate: true };

function streamBodyOf(request: StreamRequest): unknown {
  if (typeof request === 'string') return { message: request };
  if ('regenerate' in request) {
    // The useChat body of regenerate(): without a messageId, the answer at the end of the chat.
    return { messages: [{ role: 'user', parts: [] }], trigger: 'regenerate-message' };
  }
  return { message: request.message, parentId: request.parentId };
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function causeHint(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  return code && code !== 'ECONNREFUSED' ? ` (${code})` : '';
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
