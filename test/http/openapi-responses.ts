/**
 * Checks real responses against the OpenAPI document a server serves: the status is documented for
 * the operation, every header documented for that response is present and valid, and the body
 * matches the schema of its media type (JSON with ajv's JSON Schema 2020-12 validator; Server-Sent
 * Events by parsing every event with the AI SDK's `uiMessageChunkSchema`). Also lists the routes a
 * Hono app serves that the document does not describe. Used by openapi-conformance.test.ts.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../src/http/openapi-document.js';
import { parseSseText } from '../support/ui-stream.js';

export type Reply = { status: number; headers: IncomingHttpHeaders; body: Buffer };

type Json = { [key: string]: unknown };

/**
 * One HTTP request over a real connection, with full control of the headers (`Host` included) and
 * of the body: `trickle` sends the first byte of it and then nothing, like a client that stalls.
 * Resolves with the whole response; `onHeaders` is told as soon as its status arrives.
 */
export function send(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; trickle?: boolean; onHeaders?: (status: number) => void } = {},
): Promise<Reply> {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body) headers['content-length'] ??= String(body.length);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(new URL(path, baseUrl), { method, headers }, (incoming) => {
      options.onHeaders?.(incoming.statusCode ?? 0);
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) });
        if (options.trickle) outgoing.destroy();
      });
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    if (options.trickle && body) outgoing.write(body.subarray(0, 1));
    else outgoing.end(body);
  });
}

/** What was exercised: `METHOD /path status`, one entry per documented outcome seen. */
export type Coverage = Set<string>;

export type ResponseChecker = {
  document: OpenApiDocument;
  /** The operations of the document, as `METHOD /path`. */
  operations: string[];
  /** The statuses the document gives an operation. */
  statuses(operation: string): number[];
  /** Checks a response of `operation` against the document; returns the problems found (none: conforming). */
  problems(operation: string, reply: Reply): Promise<string[]>;
};

export function responseChecker(document: OpenApiDocument): ResponseChecker {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'openapi');
  const validators = new Map<string, ReturnType<typeof ajv.getSchema>>();
  const validate = (pointer: string, value: unknown): string[] => {
    let validator = validators.get(pointer);
    if (!validator) {
      validator = ajv.getSchema(`openapi#${pointer}`);
      if (!validator) throw new Error(`no schema at ${pointer}`);
      validators.set(pointer, validator);
    }
    if (validator(value)) return [];
    return (validator.errors ?? [])
      .slice(0, 5)
      .map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
  };
  /** A `$ref` within the document, resolved, with the JSON pointer of where it led. */
  const resolve = (value: Json, pointer: string): [Json, string] => {
    const ref = value.$ref;
    if (typeof ref !== 'string') return [value, pointer];
    const target = ref.slice(1);
    const resolved = target
      .split('/')
      .slice(1)
      .reduce<unknown>((node, part) => (node as Json)[part.replaceAll('~1', '/').replaceAll('~0', '~')], document);
    return resolve(resolved as Json, target);
  };
  const operationOf = (operation: string): [Json, string] => {
    const [method, path] = operation.split(' ') as [string, string];
    const found = document.paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`${operation} is not in the document`);
    return [found, `/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}`];
  };
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );

  return {
    document,
    operations,
    statuses: (operation) => Object.keys(operationOf(operation)[0].responses as Json).map(Number),
    async problems(operation, reply) {
      const [found, operationPointer] = operationOf(operation);
      const described = (found.responses as Json)[String(reply.status)] as Json | undefined;
      if (!described) return [`status ${reply.status} is not documented (body: ${reply.body.toString('utf8').slice(0, 200)})`];
      const [response, responsePointer] = resolve(described, `${operationPointer}/responses/${reply.status}`);
      const problems: string[] = [];
      for (const [name, entry] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
        const [header, headerPointer] = resolve(entry, `${responsePointer}/headers/${name}`);
        const value = reply.headers[name.toLowerCase()];
        if (value === undefined) {
          if (header.required) problems.push(`header ${name} is missing`);
          continue;
        }
        const text = Array.isArray(value) ? value.join(', ') : value;
        const typed = (header.schema as Json | undefined)?.type === 'integer' && /^\d+$/.test(text) ? Number(text) : text;
        problems.push(...validate(`${headerPointer}/schema`, typed).map((problem) => `header ${name}: ${problem}`));
      }
      const content = response.content as Record<string, Json> | undefined;
      const mediaType = String(reply.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (!content) {
        if (reply.body.length > 0) problems.push(`no body is documented, got ${reply.body.length} bytes`);
        return problems;
      }
      if (!(mediaType in content))
        return [...problems, `content-type ${mediaType || '(none)'} is not documented (${Object.keys(content).join(', ')})`];
      const schemaPointer = `${responsePointer}/content/${mediaType.replace('/', '~1')}/schema`;
      const text = reply.body.toString('utf8');
      if (mediaType === 'application/json') {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return [...problems, `the body is not JSON: ${text.slice(0, 200)}`];
        }
        problems.push(...validate(schemaPointer, body));
      } else if (mediaType === 'text/event-stream') {
        const parsed = await parseSseText(text);
        if (parsed.invalid.length > 0)
          problems.push(`${parsed.invalid.length} events fail uiMessageChunkSchema: ${String(parsed.invalid[0]).slice(0, 300)}`);
        if (parsed.chunks.length === 0) problems.push('the stream has no events');
        if (!parsed.endedWithDone) problems.push('the stream does not end with data: [DONE]');
      } else if (mediaType.startsWith('text/')) {
        problems.push(...validate(schemaPointer, text));
      }
      return problems;
    },
  };
}

/**
 * The routes `routes` (a Hono app's) serves that the document does not describe, as `METHOD path`.
 * A `:name` parameter matches `{name}` in the document, a `*` wildcard matches one `{x}` segment.
 */
export function undocumentedRoutes(routes: readonly { method: string; path: string }[], document: OpenApiDocument): string[] {
  const templates = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), segments: path.split('/') })),
  );
  const served = routes.filter((route) => route.method !== 'ALL');
  return served
    .filter((route) => {
      const segments = route.path.split('/');
      return !templates.some(
        (template) =>
          template.method === route.method &&
          template.segments.length === segments.length &&
          template.segments.every((part, index) => {
            const own = segments[index]!;
            const parameter = /^\{(\w+)\}$/.exec(part)?.[1];
            return parameter ? own === `:${parameter}` || own === '*' : own === part;
          }),
      );
    })
    .map((route) => `${route.method} ${route.path}`);
}
