/**
 * The embedded database on a thread of its own, seen from the server's thread as a PGlite client
 * (what drizzle's PGlite driver calls). PGlite runs each statement synchronously, so on the server's
 * thread a heavy statement (an export, a search of a large store) would stop every other request; on
 * its own thread it stops nothing, and statements are scheduled: a turn's statements go before
 * background work (exports, store searches from the API and MCP), which still gets one turn in every
 * few so that it is never starved. Transactions hold the database, as they do in PGlite itself.
 * See docs/architecture.md for the measurements behind this.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PgliteErrorFields, PgliteReply, PgliteRequest, PgliteResult, PgliteThreadOptions } from './pglite-thread-protocol.js';

/** `interactive`: a user is waiting on it (a turn, a page); `background`: bulk or batch work. */
export type StatementPriority = 'interactive' | 'background';

type QueryOptions = { rowMode?: 'array' | 'object'; parsers?: Record<number, unknown> };

/** The part of PGlite's client that drizzle and our raw statements use. */
export type PgliteClient = {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    options?: QueryOptions,
  ): Promise<Omit<PgliteResult, 'rows'> & { rows: T[] }>;
  transaction<T>(work: (tx: PgliteClient) => Promise<T>): Promise<T>;
};

/** A statement, or a transaction (which `holds` the database), waiting for its turn. */
type Waiting = { holds: boolean; start: () => void };

/**
 * Interactive statements sent ahead of their turn: enough that the thread keeps working while the
 * server's busy thread gets round to reading the answers and sending the next ones.
 */
const IN_FLIGHT = 8;
/** While both kinds wait, every this-many interactive statements one background statement runs. */
const BACKGROUND_EVERY = 4;

/** An error the database reported, with PostgreSQL's fields (`code` is the SQLSTATE). */
export class EmbeddedDatabaseError extends Error {
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly severity?: string;
  readonly constraint?: string;
  readonly table?: string;
  readonly column?: string;
  readonly schema?: string;

  constructor(fields: PgliteErrorFields) {
    super(fields.message);
    this.name = fields.name;
    Object.assign(this, fields);
  }
}

export class PgliteThread {
  private readonly waiting: Record<StatementPriority, Waiting[]> = { interactive: [], background: [] };
  private readonly pending = new Map<number, { resolve: (result: PgliteResult) => void; reject: (error: Error) => void }>();
  private readonly drained: (() => void)[] = [];
  private nextId = 0;
  private inFlight = 0;
  private interactiveStreak = 0;
  /** Set while a transaction holds the database: only its statements are sent. */
  private held = false;
  private stopped: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: PgliteReply) => {
      if (!('id' in reply)) return;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (--this.inFlight === 0) this.worker.unref();
      if ('error' in reply) waiter.reject(new EmbeddedDatabaseError(reply.error));
      else waiter.resolve(reply.result);
      if (this.inFlight === 0) for (const wake of this.drained.splice(0)) wake();
      this.pump();
    });
    const stop = (error: Error) => {
      this.stopped ??= error;
      for (const waiter of this.pending.values()) waiter.reject(this.stopped);
      this.pending.clear();
      for (const next of [...this.waiting.interactive.splice(0), ...this.waiting.background.splice(0)]) next.start();
    };
    worker.on('error', (error) => stop(new Error(`The embedded database stopped: ${error.message}`)));
    worker.on('exit', () => stop(new Error('The embedded database is closed.')));
    // Like a socket, the thread keeps the process alive while a statement is on its way, not when
    // idle (after the listeners: adding one refers the worker's port again).
    worker.unref();
  }

  /** Starts the thread and opens the database; resolves once it answers. */
  static async start(options: PgliteThreadOptions): Promise<{ thread: PgliteThread; fromSnapshot: boolean }> {
    const worker = new Worker(workerEntry, { workerData: options, eval: fromSources });
    let onMessage!: (reply: PgliteReply) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<PgliteReply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`The embedded database thread exited with code ${code} while opening.`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
    if ('failed' in ready) {
      await worker.terminate();
      throw new EmbeddedDatabaseError(ready.failed);
    }
    return { thread: new PgliteThread(worker), fromSnapshot: 'ready' in ready && ready.fromSnapshot };
  }

  /** A client whose statements (and transactions) run at `priority`. */
  client(priority: StatementPriority): PgliteClient {
    return {
      query: (sql, params, options) => this.queued(priority, sql, params, options),
      transaction: (work) => this.transaction(priority, work),
    } as PgliteClient;
  }

  /** Closes the database (after the statements already sent) and ends the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.stopped) {
        await new Promise<void>((resolve) => {
          const id = ++this.nextId;
          if (this.inFlight++ === 0) this.worker.ref();
          this.pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
          this.worker.postMessage({ id, op: 'close' } satisfies PgliteRequest);
        });
      }
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private queued(priority: StatementPriority, sql: string, params?: unknown[], options?: QueryOptions): Promise<PgliteResult> {
    const { interactive, background } = this.waiting;
    if (priority === 'interactive' && !this.held && this.inFlight < IN_FLIGHT && interactive.length === 0 && background.length === 0) {
      this.interactiveStreak++;
      return this.send(sql, params, options);
    }
    return new Promise<PgliteResult>((resolve, reject) => {
      this.waiting[priority].push({ holds: false, start: () => void this.send(sql, params, options).then(resolve, reject) });
      this.pump();
    });
  }

  private send(sql: string, params: unknown[] = [], options: QueryOptions = {}): Promise<PgliteResult> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = ++this.nextId;
    if (this.inFlight++ === 0) this.worker.ref();
    return new Promise<PgliteResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: PgliteRequest = { id, op: 'query', sql, params, arrays: options.rowMode === 'array', raw: rawTypes(options.parsers) };
      this.worker.postMessage(request);
    });
  }

  /**
   * Starts the next waiting statements while the thread has room: interactive ones first (several at
   * a time, so the thread never waits for the next), a background one only alone, so that it delays a
   * turn's statement by at most its own duration — and one after every few interactive ones.
   */
  private pump(): void {
    while (!this.held && this.inFlight < IN_FLIGHT) {
      const { interactive, background } = this.waiting;
      const backgroundTurn = background.length > 0 && (interactive.length === 0 || this.interactiveStreak >= BACKGROUND_EVERY);
      let next: Waiting | undefined;
      if (backgroundTurn) {
        if (this.inFlight > 0) return;
        this.interactiveStreak = 0;
        next = background.shift();
      } else {
        next = interactive.shift();
        if (next) this.interactiveStreak++;
      }
      if (!next) return;
      if (next.holds) this.held = true;
      next.start();
    }
  }

  private async transaction<T>(priority: StatementPriority, work: (tx: PgliteClient) => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => {
      this.waiting[priority].push({ holds: true, start: resolve });
      this.pump();
    });
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    const tx: PgliteClient = {
      query: (sql, params, options) => this.send(sql, params, options),
      transaction: () => Promise.reject(new Error('Nested transactions go through savepoints.')),
    } as PgliteClient;
    try {
      await this.send('begin');
      const result = await work(tx);
      await this.send('commit');
      return result;
    } catch (error) {
      await this.send('rollback').catch(() => undefined);
      throw error;
    } finally {
      this.held = false;
      this.pump();
    }
  }
}

/** The types drizzle asks to keep as text (its parsers for them return the text unchanged). */
const rawTypesOf = new WeakMap<object, number[]>();
function rawTypes(parsers: Record<number, unknown> | undefined): number[] {
  if (!parsers) return [];
  let types = rawTypesOf.get(parsers);
  if (!types) {
    types = Object.keys(parsers).map(Number);
    rawTypesOf.set(parsers, types);
  }
  return types;
}

/**
 * Run from TypeScript sources (tests, benchmarks), the worker is TypeScript too: it is started by a
 * bootstrap that registers tsx (a development dependency) first. Built, it is plain JavaScript.
 */
const fromSources = import.meta.url.endsWith('.ts');
const workerEntry: URL | string = fromSources ? sourcesBootstrap() : new URL('./pglite-thread-worker.js', import.meta.url);

function sourcesBootstrap(): string {
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./pglite-thread-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
}
