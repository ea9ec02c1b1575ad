// The bearer token the user pasted (kept in localStorage) and whether the server has refused us.
import { useSyncExternalStore } from 'react';

const STORAGE_KEY = 'autochat.token';

interface AuthState {
  token: string | null;
  /** Set when any request came back 401; cleared when a new token is saved. */
  unauthorized: boolean;
}

const listeners = new Set<() => void>();
let state: AuthState = { token: readStoredToken(), unauthorized: false };

function readStoredToken(): string | null {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return value?.trim() ? value.trim() : null;
  } catch {
    // Storage can be unavailable (private mode, sandboxed frames); run without a token.
    return null;
  }
}

function publish(next: AuthState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function currentToken(): string | null {
  return state.token;
}

export function saveToken(token: string | null): void {
  const trimmed = token?.trim() || null;
  try {
    if (trimmed) window.localStorage.setItem(STORAGE_KEY, trimmed);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Keep the token for this page's lifetime even when it cannot be persisted.
  }
  publish({ token: trimmed, unauthorized: false });
}

export function markUnauthorized(): void {
  if (!state.unauthorized) publish({ ...state, unauthorized: true });
}

export function authHeaders(): Record<string, string> {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useAuthState(): AuthState {
  return useSyncExternalStore(
    subscribe,
    () => state,
    () => state,
  );
}
