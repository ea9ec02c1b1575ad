/**
 * Refuses state-changing requests sent by a browser page of another site. Browsers send simple
 * cross-site POSTs (a form, `fetch` with `text/plain`) without asking first, so CORS alone does not
 * stop them; their `Origin` header does: it must be this server's own origin (the one the request is
 * addressed to) or one of CORS_ORIGINS. Requests without `Origin` (curl, the terminal client, server
 * to server) are not browser requests and pass.
 */
import { createMiddleware } from 'hono/factory';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { parseHost, requestHost, type RequestHost } from './request-host.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const allowedOriginForWrites = (corsOrigins: string[]) => {
  const listed = new Set(corsOrigins.map((origin) => originOf(origin)).filter((origin) => origin !== undefined));
  return createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && STATE_CHANGING.has(c.req.method) && !allowed(origin, c.req.raw, listed)) {
      throw new ChatError(
        'forbidden',
        'This request came from a web page of another site, which may not change data here. Pages of other origins must be listed in CORS_ORIGINS.',
      );
    }
    await next();
  });
};

function allowed(origin: string, request: Request, listed: Set<string>): boolean {
  const normalised = originOf(origin);
  if (normalised === undefined) return false; // "null" (sandboxed frames, file: pages) or garbage
  if (listed.has(normalised)) return true;
  const url = new URL(normalised);
  // Behind a proxy that rewrites Host, X-Forwarded-Host names the public host. A page of another
  // site cannot set it without a CORS preflight, which only CORS_ORIGINS pass.
  const forwarded = request.headers.get('x-forwarded-host')?.split(',')[0];
  const hosts = [requestHost(request), forwarded === undefined ? undefined : parseHost(forwarded)];
  return hosts.some((host) => host !== undefined && sameHost(url, host));
}

function sameHost(origin: URL, host: RequestHost): boolean {
  const defaultPort = origin.protocol === 'https:' ? '443' : '80';
  return origin.hostname === host.hostname && (origin.port || defaultPort) === (host.port || defaultPort);
}

/** `scheme://host[:port]` of an http(s) origin, normalised; undefined for anything else. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
