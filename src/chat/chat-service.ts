/**
 * The chat service: the library API of CONTRACT §3, and what the HTTP layer is built on. It owns the
 * database, the run event log, the models and the runs; a run lives here, not in any request.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ToolSet, UIMessageChunk } from 'ai';
import { Redis } from 'ioredis';
import { loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { ChatError, notFound } from '../errors.js';
import { createLanguageModels, type LanguageModels } from '../llm/language-models.js';
import { createLogger, type Logger } from '../logger.js';
import { loadMcpTools } from '../mcp/mcp-client-tools.js';
import { AgentsRepository } from '../store/agents-repository.js';
import { readCatalogFile, SHIPPED_CATALOG } from '../store/catalog.js';
import { createContentCipher } from '../store/content-cipher.js';
import { openDatabase, type Database } from '../store/database.js';
import { RunsRepository, type BegunRun, type NewUsage } from '../store/runs-repository.js';
import { SessionsRepository, type SessionCursor } from '../store/sessions-repository.js';
import { userExportJson } from '../store/user-export.js';
import { createMemoryRunEventLog } from '../streams/memory-run-event-log.js';
import { createRedisRunEventLog } from '../streams/redis-run-event-log.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { createToolSet } from '../tools/tool-set.js';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '../usage/rate-limiter.js';
import { TokenBudget, type BudgetStatus } from '../usage/token-budget.js';
import { AnswerBuilder } from './answer-builder.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { RunStateError } from './run-state.js';
import { errorSummary, executeRun, type RunDeps } from './run.js';
import { createSessionTitles } from './session-titles.js';
import { StartingTurns } from './starting-turns.js';
import type { ChatMessage, ChatSession, ChatSessionSummary, RunOutcome } from './types.js';

export type ChatServiceOptions = ConfigOverrides & {
  /** Environment to read settings from (default `process.env`); explicit options win. */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** The fetch used for upstream calls (tests, proxies); it replaces the built-in one and its silence timeout. */
  fetch?: typeof fetch;
  /** Tools offered to the model besides the built-in ones (e.g. from MCP servers). */
  extraTools?: ToolSet;
  /** Load the shipped catalog into an empty store (default true). */
  seedCatalog?: boolean;
  /** Word delay of the offline demo model, in ms. */
  demoDelayMs?: number;
  /** The longest a chat's title waits for a moment when no turn is waiting for its first token, in ms. */
  titleWaitMs?: number;
};

export type StreamOptions = { userId?: string; signal?: AbortSignal };
export type StartedRun = { runId: string; sessionId: string; messageId: string };
export type RunEventsHook = {
  runStarted?: () => void;
  runEnded?: (outcome: RunOutcome) => void;
  tokensUsed?: (usage: NewUsage[]) => void;
};

export const LOCAL_USER = 'local';

export type ChatService = Awaited<ReturnType<typeof createChatService>>;

/** The settings a set of service options selects: explicit options over the environment. */
export function configOf(options: ChatServiceOptions): Config {
  const { env, logger: _logger, fetch: _fetch, extraTools: _extraTools, seedCatalog: _seed, demoDelayMs: _delay, titleWaitMs: _wait, ...overrides } = options;
  return loadConfig(env ?? process.env, overrides);
}

export async function createChatService(options: ChatServiceOptions = {}) {
  const { logger, fetch: upstreamFetch, extraTools: givenTools, seedCatalog = true, demoDelayMs, titleWaitMs } = options;
  const config: Config = configOf(options);
  const log = logger ?? createLogger(config.logLevel);
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  const cipher = createContentCipher(config.encryptionKey, config.previousEncryptionKeys);
  const database: Database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, shippedCatalog: seedCatalog });
  let eventLog: RunEventLog;
  let redis: Redis | undefined;
  try {
    if (config.redisUrl) {
      eventLog = await createRedisRunEventLog(config.redisUrl, { cipher });
      redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
      redis.on('error', () => {});
      await redis.connect();
    } else {
      eventLog = createMemoryRunEventLog();
    }
  } catch (error) {
    await database.close();
    throw new Error(`Could not connect to Redis at REDIS_URL: ${(error as Error).message}`);
  }
  // After the connections that can fail, so a failed start leaves no MCP server process behind.
  const mcp = !givenTools && Object.keys(config.mcpServers).length > 0 ? await loadMcpTools(config.mcpServers, log) : undefined;
  const extraTools = givenTools ?? mcp?.tools;

  const sessions = new SessionsRepository(database.db, cipher);
  /** For work no one waits on as it happens (titles, exports): its statements queue behind turns'. */
  const backgroundSessions = new SessionsRepository(database.background, cipher);
  const runs = new RunsRepository(database.db, sessions, cipher);
  // The store as the API, MCP and imports use it (bulk and batch work), and as a turn's tools do.
  const agents = new AgentsRepository(database.background);
  const turnAgents = new AgentsRepository(database.db);
  const budget = new TokenBudget(database.db, config.limits);
  const rateLimiter: RateLimiter = redis
    ? createRedisRateLimiter(redis, config.limits.requestsPerMinute)
    : createMemoryRateLimiter(config.limits.requestsPerMinute);
  const models: LanguageModels = createLanguageModels(config, { fetch: upstreamFetch, demoDelayMs });
  const hooks: RunEventsHook = {};
  const turns = new StartingTurns();
  const titles = createSessionTitles({
    model: models.title,
    modelId: models.titleModelId,
    maxRetries: config.llm.maxRetries,
    sessions: backgroundSessions,
    turns,
    log,
    maxWaitMs: titleWaitMs,
  });

  if (seedCatalog && (await agents.count()) === 0) {
    const catalog = await readCatalogFile(SHIPPED_CATALOG);
    await agents.upsert(catalog.agents);
    log.info({ agents: catalog.agents.length }, 'loaded the shipped agent catalog');
  }

  /** Runs executing in this process, so shutdown can wait for them or stop them. */
  const active = new Map<string, { controller: AbortController; done: Promise<RunOutcome> }>();
  let closing = false;

  const runDeps: RunDeps = {
    runs,
    eventLog,
    models,
    contextWindow: {
      windowTokens: config.llm.contextWindowTokens,
      model: models.title,
      modelId: models.titleModelId,
      maxRetries: config.llm.maxRetries,
    },
    log,
    leases: createLeaseKeeper({ runs, owner, leaseMs: config.runLeaseMs, checkpoints: eventLog.kind === 'memory', log }),
    maxRetries: config.llm.maxRetries,
    maxToolSteps: config.llm.maxToolSteps,
    onUsage: (usage) => hooks.tokensUsed?.(usage),
    onEnded: (outcome) => hooks.runEnded?.(outcome),
  };

  const ownedSession = async (sessionId: string, userId?: string) => {
    const row = isUuid(sessionId) ? await sessions.findRow(sessionId) : undefined;
    if (!row || (userId !== undefined && row.userId !== userId)) throw notFound();
    return row;
  };

  function validateMessage(message: unknown): string {
    if (typeof message !== 'string') throw new ChatError('invalid_request', 'The message must be a string of text.');
    if (message.trim().length === 0) throw new ChatError('invalid_request', 'The message is empty. Write something to send.');
    if (message.length > config.limits.maxMessageChars) {
      throw new ChatError(
        'payload_too_large',
        `The message is ${message.length.toLocaleString('en-US')} characters long; the limit is ${config.limits.maxMessageChars.toLocaleString('en-US')}.`,
      );
    }
    return message;
  }

  /**
   * Starts a run for a new user message: validates, checks limits and ownership, stores the message
   * and claims the session atomically, then generates in the background. Readers attach with `readRun`.
   */
  async function startRun(sessionId: string, message: string, input: { userId: string; messageId?: string }): Promise<StartedRun> {
    if (closing) throw new ChatError('upstream_unavailable', 'The server is shutting down. Please try again in a moment.', { retryAfterSeconds: 2 });
    // Every stream request counts against the rate limit, whatever becomes of it.
    await rateLimiter.take(input.userId);
    const text = validateMessage(message);
    if (!isUuid(sessionId)) throw notFound();
    await budget.check(input.userId);

    const runId = randomUUID();
    const answerId = randomUUID();
    const userMessage: ChatMessage = {
      id: input.messageId && /^[\w-]{1,100}$/.test(input.messageId) ? input.messageId : randomUUID(),
      role: 'user',
      parts: [{ type: 'text', text }],
    };
    await eventLog.open(runId);
    let begun: BegunRun;
    try {
      // One statement: checks the owner, claims the session, stores the message, reads the history.
      begun = await runs.begin({ sessionId, userId: input.userId, runId, owner, leaseMs: config.runLeaseMs, userMessage });
    } catch (error) {
      await eventLog.forget([runId]);
      throw error;
    }
    const { retry } = begun;
    // A retry answers the stored message afresh: the cut-short answers after it stay stored and
    // visible, but the model is not shown them.
    const history = retry ? begun.history.slice(0, begun.history.findIndex((entry) => entry.id === userMessage.id) + 1) : begun.history;

    log.info({ runId, sessionId, userId: input.userId, from: 'idle', to: 'running', retry }, 'run started');
    const controller = new AbortController();
    const userId = input.userId;
    const answering = turns.begin();
    hooks.runStarted?.();
    const done = executeRun(runDeps, {
      runId,
      sessionId,
      userId,
      messageId: answerId,
      history,
      tools: createToolSet({ agents: turnAgents, userId }, extraTools),
      summary: begun.summary,
      saveSummary: (summary) => sessions.setSummary(sessionId, summary.text, summary.throughSeq),
      stopSignal: controller.signal,
      onFirstOutput: (first) => {
        answering();
        // Only the first exchange names a session (later runs never pay for a title), and it is named
        // while its answer streams rather than after it, when the next turn may be starting.
        if (first.type !== 'error' && begun.title === null && history.filter((message) => message.role === 'user').length === 1) {
          titles.request({ sessionId, userId, firstMessage: textOf(history) });
        }
      },
    })
      .finally(() => {
        answering();
        active.delete(runId);
      });
    active.set(runId, { controller, done });
    return { runId, sessionId, messageId: answerId };
  }

  /** The active run of a session the user owns, or null. */
  async function activeRunId(sessionId: string, userId: string): Promise<string | null> {
    const row = await ownedSession(sessionId, userId);
    return row.status === 'running' ? row.activeRunId : null;
  }

  /** Every event of a run from its first, then live, until it ends or `signal` aborts. */
  function readRun(runId: string, signal?: AbortSignal): AsyncIterable<UIMessageChunk> {
    return eventLog.read(runId, signal);
  }

  /** Asks the session's active run to stop, wherever it runs. */
  async function stopRun(sessionId: string, userId: string): Promise<boolean> {
    const runId = await activeRunId(sessionId, userId);
    if (!runId) return false;
    const local = active.get(runId);
    if (local) local.controller.abort();
    else await eventLog.requestStop(runId);
    return true;
  }

  /**
   * Closes runs whose owner stopped renewing its lease (its process died): the partial answer is
   * rebuilt from the shared event log (or the last checkpoint) and stored, readers get `error` and
   * `finish`, and the session is usable again.
   */
  async function recoverInterruptedRuns(): Promise<number> {
    let recovered = 0;
    for (const run of await runs.expired()) {
      if (active.has(run.runId)) continue;
      const message = (await rebuildFromLog(run.runId)) ?? (await runs.checkpoint(run.runId));
      try {
        await runs.end(run.runId, run.sessionId, run.userId, { status: 'interrupted', reason: 'owner stopped responding', message, usage: [] });
      } catch (error) {
        if (RunStateError.isInstance(error)) continue; // another instance closed it first
        throw error;
      }
      recovered++;
      log.warn({ runId: run.runId, sessionId: run.sessionId, from: 'running', to: 'interrupted', reason: 'owner stopped responding' }, 'run interrupted');
      if (await eventLog.exists(run.runId)) {
        await eventLog.append(run.runId, {
          type: 'error',
          errorText: 'The server generating this answer stopped unexpectedly. What was written so far has been saved; please try again.',
        });
        await eventLog.append(run.runId, { type: 'finish', messageMetadata: { sessionId: run.sessionId } });
        await eventLog.end(run.runId);
      }
      hooks.runEnded?.('interrupted');
    }
    return recovered;
  }

  async function rebuildFromLog(runId: string): Promise<ChatMessage | undefined> {
    if (eventLog.kind === 'memory' || !(await eventLog.exists(runId))) return undefined;
    const reader = new AbortController();
    const timer = setTimeout(() => reader.abort(), 2000);
    let builder: AnswerBuilder | undefined;
    try {
      for await (const chunk of eventLog.read(runId, reader.signal)) {
        if (chunk.type === 'start') builder = new AnswerBuilder(chunk.messageId ?? randomUUID());
        builder?.apply(chunk);
      }
    } finally {
      clearTimeout(timer);
    }
    return builder?.message();
  }

  const sweeper = setInterval(() => {
    recoverInterruptedRuns().catch((error: unknown) => log.error({ err: errorSummary(error) }, 'recovering interrupted runs failed'));
  }, Math.max(250, Math.floor(config.runLeaseMs / 2)));
  sweeper.unref();
  await recoverInterruptedRuns().catch(() => 0);

  async function loadSession(sessionId: string, userId?: string): Promise<ChatSession | null> {
    if (!isUuid(sessionId)) return null;
    const session = await sessions.load(sessionId);
    if (!session || (userId !== undefined && session.userId !== userId)) return null;
    return session;
  }

  return {
    config,
    log,
    hooks,
    /** True when the offline demo model answers (no key configured). */
    demo: models.demo,
    chatModelId: models.chatModelId,
    agents,
    eventLog,

    async createChatSession(userId: string): Promise<ChatSession> {
      if (typeof userId !== 'string' || userId.length === 0 || userId.length > 200) {
        throw new ChatError('invalid_request', 'A user id is required.');
      }
      const summary = await sessions.create(randomUUID(), userId);
      return { ...summary, messages: [], usage: [] };
    },

    getChatSession: loadSession,

    async listChatSessions(userId: string, page: { limit?: number; cursor?: SessionCursor } = {}) {
      const limit = Math.min(Math.max(page.limit ?? 20, 1), 100);
      return sessions.list(userId, limit, page.cursor);
    },

    async deleteChatSession(sessionId: string, userId: string): Promise<void> {
      const row = await ownedSession(sessionId, userId);
      if (row.status === 'running' && row.activeRunId) {
        const local = active.get(row.activeRunId);
        if (local) {
          local.controller.abort();
          await local.done.catch(() => undefined);
        } else {
          await eventLog.requestStop(row.activeRunId);
        }
        await eventLog.forget([row.activeRunId]);
      }
      await sessions.delete(sessionId);
    },

    /**
     * Saves a session object: creates it if new, sets its title, and appends the messages and usage
     * entries it has beyond what is stored. Stored history is never rewritten.
     */
    async upsertChatSession(session: ChatSession): Promise<ChatSession> {
      if (!session || !isUuid(session.sessionId) || typeof session.userId !== 'string' || !session.userId) {
        throw new ChatError('invalid_request', 'A session needs a sessionId (UUID) and a userId.');
      }
      const existing = await sessions.findRow(session.sessionId);
      if (existing && existing.userId !== session.userId) throw notFound();
      if (!existing) await sessions.create(session.sessionId, session.userId, session.title ?? null);
      else if (session.title && session.title !== sessions.toSummary(existing).title) await sessions.setTitle(session.sessionId, session.title);
      const storedIds = await sessions.messageIds(session.sessionId);
      for (const message of session.messages ?? []) {
        if (!storedIds.has(message.id)) await sessions.append(session.sessionId, message);
      }
      const storedUsage = existing ? (await sessions.usage(session.sessionId)).length : 0;
      const newUsage = (session.usage ?? []).slice(storedUsage);
      if (newUsage.length > 0) {
        await sessions.addUsage(
          session.userId,
          session.sessionId,
          newUsage.map((entry) => ({ ...entry, kind: entry.kind ?? 'chat' })),
        );
      }
      return (await loadSession(session.sessionId))!;
    },

    /**
     * Streams the answer to `message` as UI-stream events. Breaking out of the loop, or aborting
     * `signal`, stops the run: the upstream request is aborted and the partial answer stored.
     */
    async *streamChatCompletion(sessionId: string, message: string, options: StreamOptions = {}): AsyncGenerator<UIMessageChunk> {
      const userId = options.userId ?? (await ownedSession(sessionId)).userId;
      const run = await startRun(sessionId, message, { userId });
      const stop = () => active.get(run.runId)?.controller.abort();
      if (options.signal?.aborted) stop();
      options.signal?.addEventListener('abort', stop, { once: true });
      let ended = false;
      try {
        for await (const event of eventLog.read(run.runId)) {
          if (event.type === 'finish' || event.type === 'abort') ended = true;
          yield event;
        }
      } finally {
        options.signal?.removeEventListener('abort', stop);
        if (!ended) stop();
        await active.get(run.runId)?.done;
      }
    },

    startRun,
    readRun,
    activeRunId,
    stopRun,
    recoverInterruptedRuns,
    /** Waits for a run executing in this process to end (tests, shutdown). */
    async waitForRun(runId: string): Promise<RunOutcome | undefined> {
      return active.get(runId)?.done;
    },

    usage: (userId: string): Promise<BudgetStatus> => budget.status(userId),

    /**
     * Every session, message, usage row and library entry of a user (GDPR access), as the text of one
     * JSON document in pieces, read in batches at the database's background priority.
     */
    exportUser(userId: string): AsyncGenerator<string> {
      return userExportJson({ db: database.background, sessions: backgroundSessions, agents }, userId);
    },

    /** Erases every row and every shared-state entry of a user (GDPR erasure). */
    async eraseUser(userId: string): Promise<void> {
      const runIds = await sessions.runIdsOfUser(userId);
      for (const runId of runIds) active.get(runId)?.controller.abort();
      await Promise.all(runIds.map((runId) => active.get(runId)?.done));
      await eventLog.forget(runIds);
      await rateLimiter.forget(userId);
      await sessions.eraseUser(userId);
    },

    /** What readiness depends on; `accepting` turns false as soon as shutdown begins, so a load balancer drains this instance. */
    async ready(): Promise<{ accepting: boolean; database: boolean; redis?: boolean }> {
      const [db, shared] = await Promise.all([database.ping(), config.redisUrl ? eventLog.ping() : Promise.resolve(undefined)]);
      const accepting = !closing;
      return shared === undefined ? { accepting, database: db } : { accepting, database: db, redis: shared };
    },

    /** Statements sent to the database so far (for tests of how much work an operation does). */
    statementCount: () => database.statementCount(),
    databaseKind: database.kind,
    activeRunCount: () => active.size,

    /**
     * Stops taking new runs, lets running ones finish for up to `graceMs`, stops the rest (their
     * partial answers are stored), then closes connections.
     */
    async close(graceMs = 0): Promise<void> {
      if (closing) return;
      closing = true;
      clearInterval(sweeper);
      const pending = [...active.values()];
      if (graceMs > 0 && pending.length > 0) {
        await Promise.race([Promise.all(pending.map((run) => run.done)), new Promise((resolve) => setTimeout(resolve, graceMs))]);
      }
      for (const run of active.values()) run.controller.abort();
      await Promise.all([...active.values()].map((run) => run.done.catch(() => undefined)));
      titles.stop();
      await titles.settled();
      runDeps.leases.stop();
      await eventLog.close();
      redis?.disconnect();
      await mcp?.close();
      await database.close();
    },
  };
}

/** The text of the first user message of a history (what a title is made from). */
function textOf(history: ChatMessage[]): string {
  return (
    history
      .find((message) => message.role === 'user')
      ?.parts.map((part) => (part.type === 'text' ? part.text : ''))
      .join(' ') ?? ''
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
