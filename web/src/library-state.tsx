// Which agents are in the person's library, known to every agent card on the page, so a reopened chat
// shows "✓ In library" rather than offering to add an agent twice.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { addToLibrary, listLibrary } from './server-api.js';

type LibraryState = {
  /** True once the library is known; until then no card claims either way. */
  loaded: boolean;
  has(slug: string): boolean;
  /** Adds the agent on the server and remembers it; rejects with the server's error. */
  add(slug: string): Promise<void>;
};

const LibraryContext = createContext<LibraryState>({
  loaded: false,
  has: () => false,
  add: async (slug) => void (await addToLibrary(slug)),
});

export function LibraryProvider({ token, children }: { token: string | null; children: ReactNode }) {
  const [slugs, setSlugs] = useState<ReadonlySet<string>>(new Set());
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    let live = true;
    setLoaded(false);
    listLibrary().then(
      (library) => {
        if (!live) return;
        setSlugs(new Set(library.agents.map((agent) => agent.slug)));
        setLoaded(true);
      },
      // Unknown library: cards keep offering "Add", which the server answers idempotently.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [token]);

  const add = useCallback(async (slug: string) => {
    await addToLibrary(slug);
    setSlugs((previous) => new Set(previous).add(slug));
  }, []);
  const value = useMemo<LibraryState>(() => ({ loaded, has: (slug) => slugs.has(slug), add }), [loaded, slugs, add]);
  return <LibraryContext.Provider value={value}>{children}</LibraryContext.Provider>;
}

export const useLibrary = (): LibraryState => useContext(LibraryContext);
