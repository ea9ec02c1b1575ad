/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route definitions (route-definition.ts):
 * paths, parameters and bodies from the zod shapes that validate requests, every response with its
 * headers and body shape, and the error responses all routes share, described once.
 */
import { z } from 'zod';
import { codesOf } from '../api/error-codes.js';
import { API_TAGS, type ErrorStatus, type ResponseDefinition, type ResponseHeader, type RouteDefinition } from './route-definition.js';
import { apiShapes, errorResponse } from './schemas.js';

type JsonObject = { [key: string]: unknown };

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: JsonObject;
  servers: JsonObject[];
  tags: JsonObject[];
  paths: Record<string, Record<string, JsonObject>>;
  components: JsonObject;
};

export type DocumentOptions = {
  version: string;
  /** Whether the server has AUTH_JWT_SECRET: then a token is required, else none is needed. */
  authRequired: boolean;
};

/** Every header the document describes, by name; `x-request-id` is on every response. */
const HEADERS: Record<ResponseHeader | 'x-request-id', { component: string; description: string; schema: JsonObject }> = {
  'x-request-id': {
    component: 'RequestId',
    description:
      'The request id: the client’s own `x-request-id` if it sent a sane one (at most 64 of `[A-Za-z0-9_.-]`), else a new UUID. Error bodies and logs carry it.',
    schema: { type: 'string', minLength: 1, maxLength: 64 },
  },
  'x-run-id': { component: 'RunId', description: 'The id of the run this stream reads.', schema: { type: 'string', format: 'uuid' } },
  'x-vercel-ai-ui-message-stream': {
    component: 'UiMessageStream',
    description: 'The AI SDK UI message stream protocol version.',
    schema: { type: 'string', const: 'v1' },
  },
  'retry-after': { component: 'RetryAfter', description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
  'www-authenticate': {
    component: 'WwwAuthenticate',
    description: '`Bearer realm="autochat"`, with `error="invalid_token"` when a token was sent (RFC 6750).',
    schema: { type: 'string' },
  },
  'content-disposition': { component: 'ContentDisposition', description: 'An attachment, with its file name.', schema: { type: 'string' } },
  'content-security-policy': {
    component: 'ContentSecurityPolicy',
    description: 'The web UI’s policy: its own scripts only.',
    schema: { type: 'string' },
  },
  allow: { component: 'Allow', description: 'The methods this path answers.', schema: { type: 'string' } },
};

/** The error responses routes share (see ErrorStatus): their component name, meaning, and extra headers. */
const SHARED_ERRORS: Record<ErrorStatus, { component: string; description: string; headers?: ResponseHeader[] }> = {
  400: { component: 'BadRequest', description: 'invalid_request: a malformed id, query or body, with a sentence saying what is wrong.' },
  401: {
    component: 'Unauthorized',
    description:
      'unauthorized: no bearer token, or one that is expired, not yet valid, badly signed, not HS256, or whose `sub` cannot name a user.',
    headers: ['www-authenticate'],
  },
  403: {
    component: 'Forbidden',
    description:
      'forbidden: a write from a web page of another origin; in single-user local mode, a request addressed to a name that is not loopback.',
  },
  404: { component: 'NotFound', description: 'not_found: no such thing — or someone else’s.' },
  408: {
    component: 'RequestTimeout',
    description: 'request_timeout: the body did not arrive in time after the headers; the connection is closed.',
  },
  409: {
    component: 'Conflict',
    description: 'run_in_progress: the session is still answering an earlier message.',
    headers: ['retry-after'],
  },
  413: { component: 'PayloadTooLarge', description: 'payload_too_large: the message or the body is over its limit.' },
  415: { component: 'UnsupportedMediaType', description: 'unsupported_media_type: a body that is not `application/json`.' },
  429: {
    component: 'TooManyRequests',
    description:
      'usage_limit_exceeded (a token budget is spent; the message names when it resets) or rate_limited (too many stream requests this minute).',
    headers: ['retry-after'],
  },
  500: { component: 'InternalError', description: 'internal: something unexpected; the server log has the details under the request id.' },
  503: {
    component: 'Unavailable',
    description:
      'unavailable (the database or Redis does not answer) or upstream_unavailable (the instance is shutting down); nothing was done, so retry.',
    headers: ['retry-after'],
  },
};

const DESCRIPTION = [
  'Durable, streaming chat back end for an agent platform. docs/api.md explains every route with examples.',
  '',
  'Every response carries `x-request-id`. Errors have one JSON shape, `{"error":{"code","message","requestId"}}`.',
  'With AUTH_JWT_SECRET set, routes that list the `bearer` scheme need `Authorization: Bearer <jwt>`; in single-user',
  'local mode no token is needed. Before a request reaches any route, the server may answer in the error shape:',
  '400 (not HTTP), 408 (headers too slow), 431 (headers too large), or 503 `upstream_unavailable` with `Retry-After`',
  'while the instance closes its connections.',
].join('\n');

export function openApiDocument(routes: readonly RouteDefinition[], options: DocumentOptions): OpenApiDocument {
  const schemas: Record<string, JsonObject> = {};
  const responses: Record<string, JsonObject> = {};
  const headers: Record<string, JsonObject> = {};

  /** JSON Schema of a zod shape; shapes named in `apiShapes` become components, referenced. */
  const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonObject => {
    const converted = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      metadata: apiShapes,
      override: shorterTimes,
    }) as JsonObject;
    const { $schema: _dialect, $defs, ...rest } = converted;
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonObject>)) {
      const component = toComponentRefs(definition);
      if (schemas[id] && JSON.stringify(schemas[id]) !== JSON.stringify(component)) {
        throw new Error(`The shape ${id} has two JSON Schemas (is it used both in a request and in a response?); name them apart.`);
      }
      schemas[id] = component;
    }
    return toComponentRefs(rest);
  };

  const headerRef = (name: keyof typeof HEADERS) => {
    const { component, description, schema } = HEADERS[name];
    headers[component] ??= { description, required: true, schema };
    return { $ref: `#/components/headers/${component}` };
  };

  const response = (definition: ResponseDefinition): JsonObject => ({
    description: definition.description,
    headers: Object.fromEntries((['x-request-id', ...(definition.headers ?? [])] as const).map((name) => [name, headerRef(name)])),
    ...(definition.content
      ? {
          content: Object.fromEntries(
            Object.entries(definition.content).map(([type, schema]) => [type, { schema: jsonSchema(schema, 'output') }]),
          ),
        }
      : {}),
  });

  const sharedError = (status: ErrorStatus) => {
    const { component, description, headers: extra } = SHARED_ERRORS[status];
    responses[component] ??= response({
      description,
      content: { 'application/json': errorResponse(codesOf(status)) },
      headers: extra,
    });
    return { $ref: `#/components/responses/${component}` };
  };

  const security = (route: RouteDefinition) =>
    route.security.length === 0 ? [] : options.authRequired ? [{ bearer: [] }] : [{ bearer: [] }, {}];

  const parameters = (route: RouteDefinition): JsonObject[] => {
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
    const params = (route.request?.params?.shape ?? {}) as Record<string, z.ZodType>;
    for (const name of Object.keys(params)) {
      if (!names.includes(name)) throw new Error(`${route.path} has no {${name}} for its parameter ${name}.`);
    }
    const parameter = (name: string, where: 'path' | 'query', schema: z.ZodType | undefined): JsonObject => {
      if (!schema) throw new Error(`${route.method.toUpperCase()} ${route.path}: {${name}} has no schema in request.params.`);
      const { description, ...json } = jsonSchema(schema, 'input');
      return { name, in: where, required: where === 'path' || !schema.isOptional(), ...(description ? { description } : {}), schema: json };
    };
    return [
      ...names.map((name) => parameter(name, 'path', params[name])),
      ...Object.entries((route.request?.query?.shape ?? {}) as Record<string, z.ZodType>).map(([name, schema]) =>
        parameter(name, 'query', schema),
      ),
    ];
  };

  const operation = (route: RouteDefinition): JsonObject => {
    const shared = new Set<ErrorStatus>([403, 500, ...(route.errors ?? [])]);
    if (route.security.length > 0) shared.add(401);
    if (route.method !== 'get') for (const status of [408, 413, 415] as const) shared.add(status);
    const described: Record<string, JsonObject> = {};
    for (const [status, definition] of Object.entries(route.responses)) described[status] = response(definition);
    for (const status of shared) described[status] ??= sharedError(status);
    const body = route.request?.body;
    const inputs = parameters(route);
    return {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      security: security(route),
      ...(inputs.length > 0 ? { parameters: inputs } : {}),
      ...(body
        ? {
            requestBody: {
              required: body.required,
              ...(body.description ? { description: body.description } : {}),
              content: { 'application/json': { schema: jsonSchema(body.schema, 'input') } },
            },
          }
        : {}),
      responses: Object.fromEntries(Object.entries(described).sort(([a], [b]) => Number(a) - Number(b))),
    };
  };

  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  for (const route of routes) {
    const methods = (paths[route.path] ??= {});
    if (methods[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is defined twice.`);
    if (operationIds.has(route.operationId)) throw new Error(`The operationId ${route.operationId} is used twice.`);
    operationIds.add(route.operationId);
    methods[route.method] = operation(route);
  }
  const used = new Set(routes.flatMap((route) => route.tags));
  return {
    openapi: '3.1.0',
    info: { title: 'autochat', version: options.version, description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: '/', description: 'The server that serves this document.' }],
    tags: Object.entries(API_TAGS)
      .filter(([name]) => used.has(name as keyof typeof API_TAGS))
      .map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An HS256 JWT whose `sub` is the user id (`exp` and `nbf` are honoured), when the server has AUTH_JWT_SECRET.',
        },
      },
      schemas: sorted(schemas),
      responses: sorted(responses),
      headers: sorted(headers),
    },
  };
}

/** zod writes a long pattern beside `format: date-time`; the format says it. */
function shorterTimes({ jsonSchema }: { jsonSchema: { format?: string; pattern?: string } }): void {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
}

/** zod refers to named shapes in `$defs`; in the document they live in components.schemas. */
function toComponentRefs(schema: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonObject;
}

const sorted = (record: Record<string, JsonObject>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
