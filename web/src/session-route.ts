// Keeps the open session in the URL hash (`#/s/{id}`) so a reload reopens it. Links of the form
// `/s/{id}` (which the server also answers with this page) and `?s={id}` open a session too.
import { useCallback, useSyncExternalStore } from 'react';

const PREFIX = '#/s/';
const PATH_PATTERN = /^\/s\/([^/]+)\/?$/;

function readSessionId(): string | null {
  const { hash, pathname, search } = window.location;
  if (hash.startsWith(PREFIX)) {
    const id = decodeURIComponent(hash.slice(PREFIX.length)).trim();
    return id || null;
  }
  const fromPath = PATH_PATTERN.exec(pathname)?.[1];
  if (fromPath) return decodeURIComponent(fromPath);
  const fromQuery = new URLSearchParams(search).get('s');
  return fromQuery?.trim() || null;
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  window.addEventListener('popstate', listener);
  return () => {
    window.removeEventListener('hashchange', listener);
    window.removeEventListener('popstate', listener);
  };
}

export function useOpenSessionId(): [string | null, (sessionId: string | null) => void] {
  const sessionId = useSyncExternalStore(subscribe, readSessionId, () => null);
  const open = useCallback((next: string | null) => {
    const url = new URL(window.location.href);
    url.searchParams.delete('s');
    if (PATH_PATTERN.test(url.pathname)) url.pathname = '/';
    url.hash = next ? `${PREFIX}${encodeURIComponent(next)}` : '';
    if (url.href === window.location.href) return;
    window.history.pushState(null, '', next ? url.href : url.pathname + url.search);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, []);
  return [sessionId, open];
}
