/**
 * The messages between the server's thread and the thread that runs the embedded database
 * (src/store/pglite-thread.ts and src/store/pglite-thread-worker.ts): what to open, statements to
 * run, and their rows or errors.
 */

/** What the database thread opens: a data directory (or memory), from a snapshot when it is new. */
export type PgliteThreadOptions = {
  /** The PostgreSQL data directory; undefined keeps the database in memory. */
  pgdata?: string;
  /** A migrated empty database (a `dumpDataDir` tarball) to start a new data directory from. */
  snapshot?: string;
  /** Statements run once the database is open (session settings). */
  setup: string;
};

export type PgliteRequest =
  | {
      id: number;
      op: 'query';
      sql: string;
      params: unknown[];
      /** Rows as arrays (drizzle's typed queries) rather than objects. */
      arrays: boolean;
      /** Type ids whose values come back as PostgreSQL text rather than parsed (drizzle parses them). */
      raw: number[];
    }
  | { id: number; op: 'close' };

export type PgliteResult = { rows: unknown[]; fields: { name: string; dataTypeID: number }[]; affectedRows?: number };

/** A database error as the thread reports it: PostgreSQL's fields, for the SQLSTATE above all. */
export type PgliteErrorFields = {
  name: string;
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  severity?: string;
  constraint?: string;
  table?: string;
  column?: string;
  schema?: string;
};

export type PgliteReply =
  | { id: number; result: PgliteResult }
  | { id: number; error: PgliteErrorFields }
  | { ready: true; fromSnapshot: boolean }
  | { failed: PgliteErrorFields };
