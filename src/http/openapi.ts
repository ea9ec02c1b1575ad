/** The OpenAPI 3.1 document of the HTTP API, built from the same zod schemas that validate requests. */
import { z } from 'zod';
import {
  agentResponse,
  errorResponse,
  feedbackBody,
  feedbackResponse,
  librarySlugBody,
  listSessionsQuery,
  sessionExportQuery,
  sessionResponse,
  sessionSummaryResponse,
  storeQuery,
  streamBody,
  usageResponse,
} from './schemas.js';

type Operation = {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  tags: string[];
  auth?: boolean;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<string, { description: string; schema?: z.ZodType; sse?: boolean; text?: string }>;
};

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' });

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: errorDescriptions[status] ?? 'Error', schema: errorResponse }]));
const errorDescriptions: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized, with WWW-Authenticate: Bearer',
  403: 'forbidden: a write from a page of another origin; in local mode, a Host that is not loopback',
  404: 'not_found (also: someone else’s session)',
  408: 'request_timeout: the headers or body did not arrive in time',
  409: 'run_in_progress',
  413: 'payload_too_large',
  415: 'unsupported_media_type: the body is not application/json',
  429: 'usage_limit_exceeded or rate_limited, with Retry-After',
  503: 'upstream_unavailable',
};

const sessionList = z.object({ sessions: z.array(sessionSummaryResponse), nextCursor: z.string().nullable() });

export const operations: Operation[] = [
  { method: 'post', path: '/api/chat/sessions', summary: 'Create a chat session', tags: ['sessions'], auth: true, responses: { 201: { description: 'The new session', schema: sessionResponse }, ...errors(401, 403, 408, 415) } },
  { method: 'get', path: '/api/chat/sessions', summary: "List the caller's sessions, newest first", tags: ['sessions'], auth: true, query: listSessionsQuery, responses: { 200: { description: 'A page of sessions', schema: sessionList }, ...errors(400, 401) } },
  { method: 'get', path: '/api/chat/sessions/{id}', summary: 'A session with its messages and usage', tags: ['sessions'], auth: true, responses: { 200: { description: 'The session', schema: sessionResponse }, ...errors(400, 401, 404) } },
  { method: 'delete', path: '/api/chat/sessions/{id}', summary: 'Delete a session (stops its run)', tags: ['sessions'], auth: true, responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 408, 415) } },
  { method: 'post', path: '/api/chat/sessions/{id}/stream', summary: 'Send a message and stream the answer (AI SDK UI message stream v1)', tags: ['stream'], auth: true, body: streamBody, responses: { 200: { description: 'Server-Sent Events, ending with data: [DONE]', sse: true }, ...errors(400, 401, 403, 404, 408, 409, 413, 415, 429, 503) } },
  { method: 'get', path: '/api/chat/sessions/{id}/stream', summary: 'Resume: the active run from its first event, then live', tags: ['stream'], auth: true, responses: { 200: { description: 'Server-Sent Events', sse: true }, 204: { description: 'No run is active' }, ...errors(400, 401, 404) } },
  { method: 'post', path: '/api/chat/sessions/{id}/stop', summary: 'Stop the active run (its partial answer is stored)', tags: ['stream'], auth: true, responses: { 200: { description: 'Whether a run was stopped', schema: z.object({ stopped: z.boolean() }) }, ...errors(400, 401, 403, 404, 408, 415) } },
  { method: 'put', path: '/api/chat/sessions/{id}/messages/{messageId}/feedback', summary: 'Give feedback on an answer (thumbs up or down, optional comment); giving it again replaces it', tags: ['sessions'], auth: true, body: feedbackBody, responses: { 200: { description: 'The feedback as stored', schema: feedbackResponse }, ...errors(400, 401, 403, 404, 408, 415) } },
  { method: 'delete', path: '/api/chat/sessions/{id}/messages/{messageId}/feedback', summary: 'Withdraw feedback on an answer', tags: ['sessions'], auth: true, responses: { 204: { description: 'No feedback remains' }, ...errors(400, 401, 403, 404) } },
  { method: 'get', path: '/api/chat/sessions/{id}/export', summary: 'One chat as a file: Markdown (format=md, the default) or JSON (format=json)', tags: ['sessions'], auth: true, query: sessionExportQuery, responses: { 200: { description: 'The chat, as an attachment', text: 'text/markdown' }, ...errors(400, 401, 404) } },
  { method: 'post', path: '/api/chat', summary: "The AI SDK's default chat route: answers the last user message of the useChat body; its id names the chat (created with its first message)", tags: ['stream'], auth: true, body: streamBody, responses: { 200: { description: 'Server-Sent Events, ending with data: [DONE]', sse: true }, ...errors(400, 401, 403, 404, 408, 409, 413, 415, 429, 503) } },
  { method: 'get', path: '/api/chat/{id}/stream', summary: "The AI SDK's default resume route (useChat({ resume: true })): the chat's active run from its first event, then live", tags: ['stream'], auth: true, responses: { 200: { description: 'Server-Sent Events', sse: true }, 204: { description: 'No run is active' }, ...errors(400, 401, 404) } },
  { method: 'get', path: '/api/usage', summary: "The caller's token budgets", tags: ['usage'], auth: true, responses: { 200: { description: 'Used, limit and reset time', schema: usageResponse }, ...errors(401) } },
  { method: 'get', path: '/api/store/agents', summary: 'Search the agent store (typo-tolerant)', tags: ['store'], auth: true, query: storeQuery, responses: { 200: { description: 'Matches, best first', schema: z.object({ agents: z.array(agentResponse) }) }, ...errors(400, 401) } },
  { method: 'get', path: '/api/library', summary: "The caller's agent library", tags: ['library'], auth: true, responses: { 200: { description: 'Library entries', schema: z.object({ agents: z.array(agentResponse.extend({ addedAt: z.string() })) }) }, ...errors(401) } },
  { method: 'post', path: '/api/library', summary: 'Add a store agent to the library', tags: ['library'], auth: true, body: librarySlugBody, responses: { 201: { description: 'The library entry', schema: agentResponse.extend({ addedAt: z.string() }) }, ...errors(400, 401, 403, 404, 408, 415) } },
  { method: 'delete', path: '/api/library/{slug}', summary: 'Remove an agent from the library', tags: ['library'], auth: true, responses: { 204: { description: 'Removed' }, ...errors(400, 401, 403, 404, 408, 415) } },
  { method: 'post', path: '/mcp', summary: 'MCP over streamable HTTP: the agent-store and library tools', tags: ['mcp'], auth: true, responses: { 200: { description: 'MCP JSON-RPC response' }, ...errors(400, 401, 403, 408, 413, 415) } },
  { method: 'get', path: '/api/me/export', summary: "Every session, message, usage row and library entry of the caller", tags: ['privacy'], auth: true, responses: { 200: { description: 'The export' }, ...errors(401) } },
  { method: 'delete', path: '/api/me', summary: "Erase all of the caller's data", tags: ['privacy'], auth: true, responses: { 204: { description: 'Erased' }, ...errors(401, 403, 408, 415) } },
  { method: 'get', path: '/api/info', summary: 'Server facts for clients (demo model, auth required)', tags: ['operations'], responses: { 200: { description: 'Info' } } },
  { method: 'get', path: '/healthz', summary: 'Liveness', tags: ['operations'], responses: { 200: { description: 'Alive' } } },
  { method: 'get', path: '/readyz', summary: 'Readiness: database (and Redis) answer', tags: ['operations'], responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tags: ['operations'], responses: { 200: { description: 'Prometheus text', text: 'text/plain' } } },
  { method: 'get', path: '/openapi.json', summary: 'This document', tags: ['operations'], responses: { 200: { description: 'OpenAPI 3.1' } } },
  { method: 'get', path: '/', summary: 'The web UI', tags: ['operations'], responses: { 200: { description: 'HTML', text: 'text/html' } } },
];

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters: unknown[] = [];
    for (const name of op.path.match(/\{(\w+)\}/g)?.map((part) => part.slice(1, -1)) ?? []) {
      const uuid = name === 'id' && !op.path.startsWith('/api/chat/{id}');
      parameters.push({ name, in: 'path', required: true, schema: uuid ? { type: 'string', format: 'uuid' } : { type: 'string' } });
    }
    for (const [name, schema] of Object.entries(op.query?.shape ?? {})) {
      parameters.push({ name, in: 'query', required: false, schema: json(schema as z.ZodType) });
    }
    const responses = Object.fromEntries(
      Object.entries(op.responses).map(([status, response]) => [
        status,
        {
          description: response.description,
          ...(response.schema ? { content: { 'application/json': { schema: json(response.schema) } } } : {}),
          ...(response.sse ? { content: { 'text/event-stream': { schema: { type: 'string' } } } } : {}),
          ...(response.text ? { content: { [response.text]: { schema: { type: 'string' } } } } : {}),
        },
      ]),
    );
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      tags: op.tags,
      ...(op.auth ? { security: [{ bearer: [] }, {}] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(op.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'autochat', version, description: 'Durable, streaming chat back end for an agent platform.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (HS256, sub = user id)' } } },
    paths,
  };
}
