/**
 * Every route that takes a body takes JSON: a body of any other media type is refused with 415
 * before anything reads it. This also closes the door on cross-site "simple" requests (forms and
 * `text/plain` fetches), which browsers send without a CORS preflight.
 */
import { createMiddleware } from 'hono/factory';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';

export const jsonBodiesOnly = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (hasBody(c.req.raw) && !isJsonMediaType(c.req.header('content-type'))) throw unsupportedMediaType();
    await next();
  });

export const unsupportedMediaType = () =>
  new ChatError('unsupported_media_type', 'The request body must be JSON, sent with content-type: application/json.');

/** `application/json`, with parameters allowed; a charset, if named, must be UTF-8. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  const charset = parameters
    .find((parameter) => parameter.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/^"|"$/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/**
 * Whether the headers announce a body (HTTP/1.1 cannot send one otherwise). A body that arrives
 * unannounced (HTTP/2 without content-length, in-process calls) is checked when it is read as JSON.
 */
function hasBody(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const length = request.headers.get('content-length');
  return request.headers.get('transfer-encoding') !== null || (length !== null && length.trim() !== '0');
}
