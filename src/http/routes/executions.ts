/**
 * Agents run for the caller: start one (202, it runs in the background), list, read with output,
 * follow live as a UI message stream (resumable from any instance), stop. Someone else's execution is
 * 404 everywhere. Also what an agent needs to run, for forms and terminals.
 */
import { ChatError } from '../../errors.js';
import type { ExecutionCursor } from '../../store/executions-repository.js';
import {
  agentSlugParam,
  executionIdParam,
  executionListResponse,
  executionResponse,
  executionStopResponse,
  listExecutionsQuery,
  requiredSetupResponse,
  startedExecutionResponse,
  startExecutionBody,
} from '../execution-schemas.js';
import { defineRoute } from '../route-definition.js';
import { sseResponse } from '../sse.js';
import { parseWith, readJson } from '../validation.js';
import { answerStream } from './stream.js';

export const executionRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/executions',
    operationId: 'startExecution',
    summary: 'Run an agent',
    description:
      "Checks the inputs against the agent's schema (a 400 names what is missing or wrong), the token budget and the limit on live executions (429), then answers at once; the agent runs in the background.",
    tags: ['executions'],
    security: ['bearer'],
    request: { body: { schema: startExecutionBody, required: true } },
    responses: { 202: { description: 'Accepted: the execution is queued.', content: { 'application/json': startedExecutionResponse } } },
    errors: [400, 404, 429, 503],
    handler: async (c) => {
      const body = parseWith(startExecutionBody, await readJson(c), 'request body', 'Send {"slug": "agent-slug", "inputs": {…}}.');
      const started = await c.get('services').executions.start(c.get('userId'), body.slug, body.inputs);
      return c.json(started, 202);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/executions',
    operationId: 'listExecutions',
    summary: "The caller's executions, newest first (without their output)",
    tags: ['executions'],
    security: ['bearer'],
    request: { query: listExecutionsQuery },
    responses: {
      200: {
        description: 'A page of executions; `nextCursor` is null on the last page.',
        content: { 'application/json': executionListResponse },
      },
    },
    errors: [400, 503],
    handler: async (c) => {
      const query = parseWith(listExecutionsQuery, c.req.query(), 'query');
      const page = await c.get('services').executions.list(c.get('userId'), { limit: query.limit, cursor: decodeCursor(query.cursor) });
      return c.json({
        executions: page.executions,
        nextCursor: page.nextCursor ? Buffer.from(JSON.stringify(page.nextCursor)).toString('base64url') : null,
      });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/executions/{id}',
    operationId: 'getExecution',
    summary: 'An execution with its output',
    tags: ['executions'],
    security: ['bearer'],
    request: { params: executionIdParam },
    responses: { 200: { description: 'The execution.', content: { 'application/json': executionResponse } } },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(executionIdParam, c.req.param(), 'execution id');
      return c.json(await c.get('services').executions.get(id, c.get('userId')));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/executions/{id}/stream',
    operationId: 'streamExecution',
    summary: "Follow an execution's output: from its first event, then live",
    tags: ['executions'],
    security: ['bearer'],
    request: { params: executionIdParam },
    responses: { 200: answerStream('The execution from its first event (a replay of the stored output once it has long ended).') },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(executionIdParam, c.req.param(), 'execution id');
      const { executions, metrics } = c.get('services');
      const reader = await executions.reader(id, c.get('userId'));
      metrics.activeStreams.inc();
      return sseResponse((signal) => reader(signal), {
        headers: { 'x-request-id': c.get('requestId'), 'x-run-id': id },
        onClose: () => metrics.activeStreams.dec(),
      });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/executions/{id}/stop',
    operationId: 'stopExecution',
    summary: 'Stop an execution, wherever it runs (what it wrote so far is kept)',
    tags: ['executions'],
    security: ['bearer'],
    request: { params: executionIdParam },
    responses: {
      200: { description: 'Whether it was live and was asked to stop.', content: { 'application/json': executionStopResponse } },
    },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { id } = parseWith(executionIdParam, c.req.param(), 'execution id');
      return c.json(await c.get('services').executions.stop(id, c.get('userId')));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/store/agents/{slug}/setup',
    operationId: 'getAgentSetup',
    summary: 'What an agent needs to run: its inputs and which are required',
    tags: ['store', 'executions'],
    security: ['bearer'],
    request: { params: agentSlugParam },
    responses: {
      200: {
        description: "The agent's inputs (`missing` lists the required ones, none given here).",
        content: { 'application/json': requiredSetupResponse },
      },
    },
    errors: [400, 404, 503],
    handler: async (c) => {
      const { slug } = parseWith(agentSlugParam, c.req.param(), 'agent slug');
      return c.json(await c.get('services').executions.requiredSetup(slug));
    },
  }),
];

const CURSOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CURSOR_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)$/;

/** The cursor back from its opaque text, or a 400: only what the list route makes reaches SQL. */
function decodeCursor(text: string | undefined): ExecutionCursor | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { createdAt, id, ...rest } = value;
    if (
      Object.keys(rest).length === 0 &&
      typeof createdAt === 'string' &&
      typeof id === 'string' &&
      CURSOR_ID.test(id) &&
      CURSOR_TIME.test(createdAt)
    ) {
      const year = Number(createdAt.slice(0, 4));
      if (year >= 1970 && year <= 9999 && !Number.isNaN(Date.parse(createdAt))) return { createdAt, id };
    }
  } catch {
    // not JSON: refused below
  }
  throw new ChatError('invalid_request', 'The cursor is not valid; use the nextCursor of a previous page.');
}
