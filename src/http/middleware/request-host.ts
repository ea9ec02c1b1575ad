/** The host a request was addressed to (`Host`, or HTTP/2's `:authority`), split into name and port. */

export type RequestHost = { hostname: string; port: string };

/** The `Host` header if sent, else the host of the URL the server built (HTTP/2, in-process calls). */
export function requestHost(request: Request): RequestHost | undefined {
  return parseHost(request.headers.get('host') ?? new URL(request.url).host);
}

/** `name[:port]` or `[v6]:port`; undefined for anything else (a path, user info, a second colon). */
export function parseHost(value: string): RequestHost | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^\s:/?#@[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  return { hostname: match[1]!.toLowerCase(), port: match[2] ?? '' };
}
