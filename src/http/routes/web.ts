/** Serves the built web UI (dist/web): the single page at `/`, its hashed assets under `/assets/`. */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ChatError } from '../../errors.js';
import { defineRoute, type ResponseDefinition } from '../route-definition.js';

const CANDIDATES = [new URL('../web/', import.meta.url), new URL('../../../dist/web/', import.meta.url)].map((url) => fileURLToPath(url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export const WEB_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const html = { 'text/html': z.string() };
const pageResponses: Record<number, ResponseDefinition> = {
  200: { description: 'The web UI.', content: html, headers: ['content-security-policy'] },
  503: { description: 'The web UI is not built (`npm run build`); a sentence saying so.', content: { 'text/plain': z.string() } },
};
/** A file's bytes, of any of the types the UI is built with. */
const fileTypes = Object.fromEntries(
  [...new Set([...Object.values(TYPES), 'application/octet-stream'])].map((type) => [type.split(';')[0]!, z.unknown()]),
);

/**
 * The web UI's routes, serving the build in `build` (by default the one beside the server code);
 * `false`, or no build found, serves none: the page answers 503 saying so.
 */
export function webRoutes(build?: string | false) {
  const root = build === false ? undefined : (build ?? CANDIDATES.find((dir) => existsSync(join(dir, 'index.html'))));
  const cache = new Map<string, Buffer>();
  const read = async (path: string) => {
    let data = cache.get(path);
    if (!data) {
      data = await readFile(path);
      cache.set(path, data);
    }
    return data;
  };
  const page = async () => {
    if (!root) {
      return new Response('The web UI is not built. Run `npm run build`, then reload.', {
        status: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    }
    return new Response(new Uint8Array(await read(join(root, 'index.html'))), {
      headers: { 'content-type': TYPES['.html']!, 'cache-control': 'no-cache', 'content-security-policy': WEB_CSP },
    });
  };
  return [
    defineRoute({
      method: 'get',
      path: '/',
      operationId: 'getWebApp',
      summary: 'The web UI',
      tags: ['web'],
      security: [],
      responses: pageResponses,
      handler: page,
    }),
    defineRoute({
      method: 'get',
      path: '/s/{id}',
      routerPath: '/s/*',
      operationId: 'getWebAppChat',
      summary: 'The web UI, opened on a chat',
      tags: ['web'],
      security: [],
      request: { params: z.object({ id: z.string() }) },
      responses: pageResponses,
      handler: page,
    }),
    defineRoute({
      method: 'get',
      path: '/assets/{file}',
      routerPath: '/assets/*',
      operationId: 'getWebAsset',
      summary: "A file of the web UI's build (hashed names, cached for a year)",
      tags: ['web'],
      security: [],
      request: { params: z.object({ file: z.string() }) },
      responses: { 200: { description: 'The file.', content: fileTypes } },
      errors: [400, 404],
      handler: async (c) => {
        const path = root && (await assetFile(root, new URL(c.req.url).pathname));
        if (!path) throw new ChatError('not_found', 'There is no such file in the web UI.');
        return c.body(new Uint8Array(await read(path)), 200, {
          'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
          'cache-control': 'public, max-age=31536000, immutable',
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/favicon.ico',
      operationId: 'getFavicon',
      summary: "The web UI's icon",
      tags: ['web'],
      security: [],
      responses: {
        200: { description: 'The icon, when the build has one (`favicon.svg`).', content: { 'image/svg+xml': z.string() } },
        204: { description: 'The build has no icon.' },
      },
      handler: async (c) => {
        const path = root && join(root, 'favicon.svg');
        if (!path || !existsSync(path)) return c.body(null, 204);
        return c.body(new Uint8Array(await read(path)), 200, { 'content-type': TYPES['.svg']! });
      },
    }),
  ];
}

/**
 * The file under `root/assets` a request path names, or undefined. Each segment is decoded once,
 * strictly (a malformed or non-UTF-8 percent-encoding such as `%c0%ae` is a 400); segments that
 * could leave the directory (`..`, separators, NUL) and anything but a regular file name nothing.
 */
async function assetFile(root: string, pathname: string): Promise<string | undefined> {
  const segments = pathname
    .replace(/^\/assets\/?/, '')
    .split('/')
    .map(decodeSegment);
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment))) return undefined;
  const directory = join(root, 'assets');
  const path = join(directory, ...segments);
  if (!path.startsWith(directory + sep)) return undefined;
  try {
    return (await stat(path)).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ChatError('invalid_request', 'The path has a malformed percent-encoding: each %XX sequence must encode UTF-8.');
  }
}
