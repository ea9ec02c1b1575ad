// The agent views in the URL hash, beside the chats' `#/s/{id}`: `#/library` (your agents, to run)
// and `#/executions` or `#/executions/{id}` (what ran, live). Any other hash is the chat.
import { useSyncExternalStore } from 'react';

export type AgentsView = { kind: 'library' } | { kind: 'executions'; executionId?: string };

function readView(): string {
  return window.location.hash;
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  window.addEventListener('popstate', listener);
  return () => {
    window.removeEventListener('hashchange', listener);
    window.removeEventListener('popstate', listener);
  };
}

function parse(hash: string): AgentsView | null {
  if (hash === '#/library') return { kind: 'library' };
  const match = /^#\/executions(?:\/([0-9a-f-]{36}))?\/?$/i.exec(hash);
  if (match) return match[1] ? { kind: 'executions', executionId: match[1] } : { kind: 'executions' };
  return null;
}

export function useAgentsView(): AgentsView | null {
  const hash = useSyncExternalStore(subscribe, readView, () => '');
  return parse(hash);
}

export const agentsViewHref = (view: AgentsView): string =>
  view.kind === 'library' ? '#/library' : view.executionId ? `#/executions/${view.executionId}` : '#/executions';

export function openAgentsView(view: AgentsView): void {
  window.location.hash = agentsViewHref(view);
}
