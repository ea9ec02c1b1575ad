/**
 * The chat service: the library API (README.md, "As a library"), and what the HTTP layer is built on. It owns the
 * database, the run event log, the models and the runs; a run lives here, not in any request.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ToolSet, UIMessageChunk } from 'ai';
import { Redis } from 'ioredis';
import { loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { ChatError, notFound } from '../errors.js';
import { createLanguageModels, type LanguageModels } from '../llm/language-models.js';
import { createLogger, libraryLogDestination, type Logger, errorSummary } from '../logger.js';
import { createExecutionService } from '../executions/execution-service.js';
import { loadMcpTools } from '../mcp/mcp-client-tools.js';
import { AgentsRepository } from '../store/agents-repository.js';
import { ApprovalsRepository, type ResumedRun } from '../store/approvals-repository.js';
import { createToolApprovalPolicy } from '../tools/tool-approval-policy.js';
import { FeedbackRepository, type Feedback, type FeedbackRating } from '../store/feedback-repository.js';
import { readCatalogFile, SHIPPED_CATALOG } from '../store/catalog.js';
import { createContentCipher } from '../store/content-cipher.js';
import { openDatabase, type Database } from '../store/database.js';
import { ExecutionsRepository } from '../store/executions-repository.js';
import type { EndRecord } from '../store/end-record.js';
import { verifyEncryptionKeys } from '../store/key-check.js';
import { memoryPendingSaves, type PendingSaves } from '../store/pending-saves.js';
import { RunsRepository, type BegunRun, type ExpiredRun, type NewUsage } from '../store/runs-repository.js';
import { RunTakeovers } from '../store/run-takeover.js';
import { SessionsRepository, type SessionCursor } from '../store/sessions-repository.js';
import { openSpillJournal } from '../store/spill-journal.js';
import { userExportJson } from '../store/user-export.js';
import { createMemoryRunEventLog } from '../streams/memory-run-event-log.js';
import { noOwnerPresence, redisOwnerPresence, type OwnerPresence } from '../streams/owner-presence.js';
import { createRedisPendingSaves } from '../streams/redis-pending-saves.js';
import { createRedisRunEventLog } from '../streams/redis-run-event-log.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { createToolSet } from '../tools/tool-set.js';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '../usage/rate-limiter.js';
import { interruptedRunUsage } from '../usage/interrupted-run-usage.js';
import { COMPLETION_RESERVE_TOKENS, startOfUtcWeek, TokenBudget, type BudgetStatus } from '../usage/token-budget.js';
import { loadUsageSubject, type UsageSubject } from '../usage/usage-subject.js';
import { outageOf } from '../service-outage.js';
import { AnswerBuilder } from './answer-builder.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { RunRefusal, RunStateError } from './run-state.js';
import { runRefusalError } from './run-refusal-words.js';
import { createRunSettler } from './run-settler.js';
import { createRunTakeover, type ContinuedRun } from './run-takeover.js';
import { executeRun, SYSTEM_PROMPT, totalsOf, type RunDeps } from './run.js';
import { createSessionTitles } from './session-titles.js';
import { StartingTurns } from './starting-turns.js';
import { createApprovalDesk, logIdOf, resumptionOf } from './tool-approvals.js';
import type { ChatMessage, ChatSession, RunOutcome, RunResult, SessionMessage } from './types.js';
import { userIdProblem } from './user-id.js';

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

export type StreamOptions = {
  userId?: string;
  signal?: AbortSignal;
  /** Where the message goes in the session's tree: see `RunRequest.parentId`. */
  parentId?: string | null;
};
/** A request for a run answering a new message. */
export type RunRequest = {
  userId: string;
  messageId?: string;
  /**
   * Where the new message goes in the session's tree: undefined continues the active path, null
   * starts a new first message, an id branches from that message (an edit). An id not in the
   * session is refused with `invalid_request`.
   */
  parentId?: string | null;
  /** The ids of the messages the client shows before the new one (a useChat body), oldest first. */
  shownIds?: string[];
};
type StartInput = RunRequest & { regenerate?: boolean };
export type StartedRun = { runId: string; sessionId: string; messageId: string };
export type RunEventsHook = {
  runStarted?: () => void;
  runEnded?: (outcome: RunOutcome) => void;
  /** A run executing here paused for tool approvals: it no longer runs anywhere until answered. */
  runPaused?: () => void;
  /** A run that waited for tool approvals ended unanswered (expired, stopped, or its session deleted). */
  waitingRunEnded?: () => void;
  tokensUsed?: (usage: NewUsage[]) => void;
  feedbackGiven?: (rating: FeedbackRating) => void;
  /** This instance took over a run whose own instance stopped, and continues it. */
  runContinued?: () => void;
  /** An attempt to store a pending answer failed (the database is still away). */
  saveRetryFailed?: () => void;
  /** An unsaved answer could not be kept durably (PENDING_SAVES_MAX_BYTES reached, or its place is down). */
  saveOverflowed?: () => void;
};

/** How long deleting a running session waits for the run's owner, on another instance, to stop and store it. */
const STOP_WAIT_MS = 5000;

/** How long closing waits at least for the titles already asked for. */
const TITLES_WAIT_MS = 5000;

export const LOCAL_USER = 'local';

/** At shutdown, how long starts already under way are waited for at least, even with no grace period. */
const STARTS_WAIT_MS = 2000;

export type ChatService = Awaited<ReturnType<typeof createChatService>>;

/** The settings a set of service options selects: explicit options over the environment. */
export function configOf(options: ChatServiceOptions): Config {
  const {
    env,
    logger: _logger,
    fetch: _fetch,
    extraTools: _extraTools,
    seedCatalog: _seed,
    demoDelayMs: _delay,
    titleWaitMs: _wait,
    ...overrides
  } = options;
  return loadConfig(env ?? process.env, overrides);
}

export async function createChatService(options: ChatServiceOptions = {}) {
  const { logger, fetch: upstreamFetch, extraTools: givenTools, seedCatalog = true, demoDelayMs, titleWaitMs } = options;
  const config: Config = configOf(options);
  const log = logger ?? createLogger(config.logLevel, libraryLogDestination());
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  const cipher = createContentCipher(config.encryptionKey, config.previousEncryptionKeys);
  const database: Database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, shippedCatalog: seedCatalog });
  let subjectOf: UsageSubject;
  try {
    // Before anything is written: a key that does not fit the database stops the start here.
    const keys = await verifyEncryptionKeys(database.db, cipher);
    if (keys.added || keys.retired.length > 0)
      log.info({ keyIds: keys.verified, added: keys.added, retired: keys.retired }, 'encryption keys checked');
    subjectOf = await loadUsageSubject(database.db);
  } catch (error) {
    await database.close();
    throw error;
  }
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
  // Where the end of a run waits if the database cannot take it: Redis (any instance can store it),
  // else a journal under DATA_DIR (replayed at the next start), else only this process's memory.
  // Its records are read now, before anything can sweep runs, so a failed start leaves nothing behind.
  const place: PendingSaves = redis
    ? createRedisPendingSaves(redis, cipher)
    : config.dataDir === 'memory://'
      ? memoryPendingSaves()
      : await openSpillJournal(join(config.dataDir, 'pending-saves.journal'), { cipher, maxBytes: config.pendingSaves.maxBytes });
  let leftBehind: EndRecord[];
  try {
    leftBehind = await place.load();
  } catch (error) {
    await place.close();
    await eventLog.close();
    redis?.disconnect();
    await database.close();
    throw error;
  }

  // After the connections that can fail, so a failed start leaves no MCP server process behind.
  const mcp = !givenTools && Object.keys(config.mcpServers).length > 0 ? await loadMcpTools(config.mcpServers, log) : undefined;
  const extraTools = givenTools ?? mcp?.tools;
  const needsApproval = createToolApprovalPolicy(config.toolApproval, Object.keys(mcp?.tools ?? {}));

  const sessions = new SessionsRepository(database.db, cipher);
  /** For work no one waits on as it happens (titles, exports): its statements queue behind turns'. */
  const backgroundSessions = new SessionsRepository(database.background, cipher);
  const runs = new RunsRepository(database.db, sessions, cipher);
  const approvals = new ApprovalsRepository(database.db, cipher);
  // The store as the API, MCP and imports use it (bulk and batch work), and as a turn's tools do.
  const agents = new AgentsRepository(database.background);
  const turnAgents = new AgentsRepository(database.db);
  const feedback = new FeedbackRepository(database.db, cipher);
  const executionRows = new ExecutionsRepository(database.db, cipher);
  const budget = new TokenBudget(database.db, config.limits, subjectOf);
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

  const presence: OwnerPresence = redis ? redisOwnerPresence(redis, owner, config.runLeaseMs) : noOwnerPresence;
  const settler = createRunSettler({
    runs,
    place,
    log,
    maxBytes: config.pendingSaves.maxBytes,
    onStored: (record) => hooks.tokensUsed?.(record.usage),
    onRetryFailed: () => hooks.saveRetryFailed?.(),
    onOverflow: () => hooks.saveOverflowed?.(),
  });

  if (seedCatalog && (await agents.count()) === 0) {
    const catalog = await readCatalogFile(SHIPPED_CATALOG);
    await agents.upsert(catalog.agents);
    log.info({ agents: catalog.agents.length }, 'loaded the shipped agent catalog');
  } else if (seedCatalog && (await agents.countWithoutDefinition()) > 0) {
    // A database from before definitions were stored (migration 0013): the shipped agents become runnable.
    const filled = await agents.fillMissingDefinitions((await readCatalogFile(SHIPPED_CATALOG)).agents);
    if (filled > 0) log.info({ agents: filled }, 'stored the runnable definitions of shipped agents');
  }

  // Agents run from the chat, the API, MCP and the terminal (src/executions).
  const executionService = createExecutionService({
    config,
    executions: executionRows,
    agents: turnAgents,
    eventLog,
    models,
    budget,
    rateLimiter,
    presence,
    owner,
    log,
    extraTools,
    onUsageStored: (usage) => hooks.tokensUsed?.(usage),
  });

  /**
   * Runs executing in this process, so shutdown can wait for them, hand them on (`handOff`), or stop
   * them; `continuations` says how often the run was already continued.
   */
  const active = new Map<
    string,
    { controller: AbortController; done: Promise<RunResult>; handOff?: AbortController; continuations?: number }
  >();
  let closing = false;
  /** Runs this process handed on to another instance at shutdown. */
  let handedOn = 0;
  let draining: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  const runDeps: RunDeps = {
    settler,
    eventLog,
    models,
    contextWindow: {
      windowTokens: config.llm.contextWindowTokens,
      model: models.title,
      modelId: models.titleModelId,
      maxRetries: config.llm.maxRetries,
    },
    log,
    leases: createLeaseKeeper({ runs, owner, leaseMs: config.runLeaseMs, checkpoints: eventLog.kind === 'memory', log, presence }),
    maxRetries: config.llm.maxRetries,
    maxToolSteps: config.llm.maxToolSteps,
    onEnded: (outcome) => hooks.runEnded?.(outcome),
    pause: (pause) => approvals.pause({ ...pause, owner, timeoutMs: config.toolApproval.timeoutMs }),
  };

  const desk = createApprovalDesk({
    approvals,
    runs,
    owner,
    leaseMs: config.runLeaseMs,
    log,
    launch: launchResumed,
    onEnded: () => hooks.waitingRunEnded?.(),
  });

  const takeovers = new RunTakeovers(database.db);
  const takeover = createRunTakeover({
    takeovers,
    runs,
    sessions,
    eventLog,
    owner,
    leaseMs: config.runLeaseMs,
    maxContinuations: config.runContinueMax,
    modelAvailable: !models.demo,
    chatModelId: models.chatModelId,
    toolsFor: (userId) => createToolSet({ agents: turnAgents, userId, executions: executionService }, extraTools),
    launch: launchContinuation,
    log,
  });

  /** Generates the rest of an answer another instance began (see run-takeover.ts). */
  function launchContinuation(run: ContinuedRun): void {
    const controller = new AbortController();
    const handOff = new AbortController();
    hooks.runStarted?.();
    hooks.runContinued?.();
    const done = executeRun(runDeps, {
      ...run,
      saveSummary: (summary) =>
        sessions.setSummary(run.sessionId, summary.text, summary.throughSeq, run.history[summary.throughSeq]?.id ?? null),
      stopSignal: controller.signal,
      needsApproval,
      handOffSignal: handOff.signal,
      handOff: async (progress) => void (await takeovers.release(run.runId, owner, progress)),
    })
      .catch((error: unknown) => failUnexpectedly(run.runId, run.sessionId, run.userId, error))
      .finally(() => active.delete(run.runId));
    active.set(run.runId, { controller, done, handOff, continuations: run.continuation.count });
  }

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
  async function startRun(sessionId: string, message: string, input: RunRequest): Promise<StartedRun> {
    return startAnyRun(sessionId, message, input);
  }

  /**
   * Starts a run answering a stored user message again (regenerate): `messageId` names the answer
   * to replace (or the user message itself); without one, the answer at the session's active leaf.
   * The earlier answers stay stored as siblings of the new one.
   */
  async function regenerateRun(sessionId: string, input: { userId: string; messageId?: string }): Promise<StartedRun> {
    return startAnyRun(sessionId, undefined, { ...input, regenerate: true });
  }

  async function startAnyRun(sessionId: string, message: string | undefined, input: StartInput): Promise<StartedRun> {
    if (closing)
      throw new ChatError('upstream_unavailable', 'The server is shutting down. Please try again in a moment.', { retryAfterSeconds: 2 });
    // A start already past this check when shutdown begins is waited for, and its run gets the grace period.
    const started = claimStart();
    try {
      return await startRunOnce(sessionId, message, input);
    } finally {
      started();
    }
  }

  /** Starts in progress, so `drain` waits for them before it counts the running runs. */
  const starting = new Set<Promise<void>>();
  function claimStart(): () => void {
    let release!: () => void;
    const start = new Promise<void>((resolve) => {
      release = resolve;
    });
    starting.add(start);
    return () => {
      starting.delete(start);
      release();
    };
  }

  async function startRunOnce(sessionId: string, message: string | undefined, input: StartInput): Promise<StartedRun> {
    // Every stream request counts against the rate limit, whatever becomes of it.
    await rateLimiter.take(input.userId);
    const text = input.regenerate ? '' : validateMessage(message);
    if (!isUuid(sessionId)) throw notFound();

    const runId = randomUUID();
    const answerId = randomUUID();
    const place = await placeOfRun(sessionId, input);
    const userMessage: ChatMessage = {
      id: place.questionId ?? (input.messageId && /^[\w-]{1,100}$/.test(input.messageId) ? input.messageId : randomUUID()),
      role: 'user',
      parts: [{ type: 'text', text }],
    };
    // The answer's reservation: the new message, the system prompt and a completion (the statement
    // adds its estimate of the stored history).
    const reserve = COMPLETION_RESERVE_TOKENS + Math.ceil((text.length + SYSTEM_PROMPT.length) / 4);
    const admission = budget.admission(input.userId, reserve, config.llm.contextWindowTokens);
    await eventLog.open(runId);
    let begun: BegunRun;
    try {
      // One statement: checks the budget and the owner, claims the session, reserves the answer's
      // estimate, stores the message, reads the history.
      begun = await runs.begin({
        sessionId,
        userId: input.userId,
        runId,
        owner,
        leaseMs: config.runLeaseMs,
        userMessage,
        admission,
        parentId: place.parentId,
        regenerate: input.regenerate,
      });
    } catch (error) {
      await eventLog.forget([runId]);
      if (RunRefusal.isInstance(error)) {
        const waiting = error.code === 'run_in_progress' && (await approvals.isWaiting(sessionId).catch(() => false));
        throw runRefusalError(error, waiting);
      }
      throw error;
    }
    const { retry } = begun;
    const userId = input.userId;
    const controller = new AbortController();
    const handOff = new AbortController();
    let done: Promise<RunResult>;
    try {
      // A retry answers the stored message afresh: the cut-short answers after it stay stored and
      // visible, but the model is not shown them.
      const history = retry ? begun.history.slice(0, begun.history.findIndex((entry) => entry.id === userMessage.id) + 1) : begun.history;
      const tools = createToolSet({ agents: turnAgents, userId, executions: executionService }, extraTools);
      // Only the first exchange names a session; later runs never pay for a title.
      const firstExchange = begun.title === null && history.filter((message) => message.role === 'user').length === 1;
      let titled = false;
      log.info({ runId, sessionId, userId, from: 'idle', to: 'running', retry }, 'run started');
      const answering = turns.begin();
      hooks.runStarted?.();
      done = executeRun(runDeps, {
        runId,
        sessionId,
        userId,
        messageId: answerId,
        history,
        tools,
        summary: begun.summary,
        saveSummary: (summary) => sessions.setSummary(sessionId, summary.text, summary.throughSeq, history[summary.throughSeq]?.id ?? null),
        stopSignal: controller.signal,
        needsApproval,
        handOffSignal: handOff.signal,
        handOff: async (progress) => void (await takeovers.release(runId, owner, progress)),
        onFirstOutput: (first) => {
          answering();
          // Named while its answer streams rather than after it, when the next turn may be starting.
          if (first.type !== 'error' && firstExchange) {
            titled = true;
            titles.request({ sessionId, userId, firstMessage: textOf(history) });
          }
        },
      })
        .catch((error: unknown) => failUnexpectedly(runId, sessionId, userId, error))
        .then((outcome) => {
          // A first answer that ended before any output (stopped, or failed) still leaves a chat to
          // find again. After a failure the provider is not asked again: the first words name it.
          if (firstExchange && !titled && !settler.has(runId)) {
            titles.request({ sessionId, userId, firstMessage: textOf(history), askModel: outcome !== 'failed' });
          }
          if (outcome === 'awaiting-approval') hooks.runPaused?.();
          return outcome;
        })
        .finally(() => {
          answering();
          active.delete(runId);
        });
    } catch (error) {
      // Nothing generates for this claim: undo it, so the failed request leaves no claimed session.
      await runs
        .abandon(runId, sessionId, retry ? undefined : userMessage.id)
        .catch((undo: unknown) =>
          log.error(
            { runId, sessionId, err: errorSummary(undo) },
            'undoing a failed start failed; the run is closed when its lease expires',
          ),
        );
      await eventLog.forget([runId]);
      throw error;
    }
    active.set(runId, { controller, done, handOff, continuations: 0 });
    return { runId, sessionId, messageId: answerId };
  }

  /**
   * Executes, here, a run claimed after its tool approvals were answered: the same answer goes on,
   * written to a new event log (returned) that readers of the session find.
   */
  async function launchResumed(resumed: ResumedRun): Promise<string> {
    const { runId, sessionId, userId } = resumed;
    const logId = logIdOf(runId, resumed.resumes);
    await eventLog.open(logId);
    const [row, history] = await Promise.all([sessions.findRow(sessionId), sessions.activePath(sessionId)]);
    const controller = new AbortController();
    hooks.runStarted?.();
    const done = executeRun(runDeps, {
      runId,
      sessionId,
      userId,
      messageId: resumed.answer.id,
      history,
      tools: createToolSet({ agents: turnAgents, userId, executions: executionService }, extraTools),
      summary: row ? sessions.readSummary(row) : undefined,
      saveSummary: (summary) => sessions.setSummary(sessionId, summary.text, summary.throughSeq, history[summary.throughSeq]?.id ?? null),
      stopSignal: controller.signal,
      needsApproval,
      resume: resumptionOf(resumed),
      logId,
    })
      .catch((error: unknown) => failUnexpectedly(runId, sessionId, userId, error, logId))
      .then((outcome) => {
        if (outcome === 'awaiting-approval') hooks.runPaused?.();
        return outcome;
      })
      .finally(() => active.delete(runId));
    active.set(runId, { controller, done });
    return logId;
  }

  /**
   * A run whose code threw instead of ending (it never should): it is ended as failed, so its session
   * is freed at once rather than when its lease expires, and its readers get an error and the end.
   */
  async function failUnexpectedly(runId: string, sessionId: string, userId: string, error: unknown, logId = runId): Promise<RunOutcome> {
    log.error({ runId, sessionId, err: errorSummary(error) }, 'run failed unexpectedly');
    await runs.end(runId, sessionId, userId, { status: 'failed', reason: 'internal', usage: [] }).catch(() => undefined);
    await eventLog
      .append(logId, { type: 'error', errorText: 'Something went wrong while generating this answer. Please try again.' })
      .catch(() => undefined);
    await eventLog.append(logId, { type: 'finish', messageMetadata: { sessionId } }).catch(() => undefined);
    await eventLog.end(logId).catch(() => undefined);
    hooks.runEnded?.('failed');
    return 'failed';
  }

  /**
   * Where a run's message goes in the session's tree: for a regenerate, the stored user message it
   * answers again; for a new message, its parent — as given, or the last of the messages the client
   * shows before it that is stored (so a client showing another branch, or an edited history,
   * branches where it diverged); undefined continues the active path.
   */
  async function placeOfRun(sessionId: string, input: StartInput): Promise<{ questionId?: string; parentId?: string | null }> {
    if (input.regenerate) {
      await ownedSession(sessionId, input.userId);
      const questionId = await sessions.questionOf(sessionId, input.messageId);
      if (!questionId) {
        throw new ChatError(
          'invalid_request',
          input.messageId
            ? 'That message is not an answer in this chat, so it cannot be regenerated.'
            : 'This chat has no answer to regenerate yet.',
        );
      }
      return { questionId };
    }
    if (input.parentId !== undefined || !input.shownIds?.length) return { parentId: input.parentId };
    const stored = await sessions.storedAmong(sessionId, input.shownIds);
    return { parentId: input.shownIds.findLast((id) => stored.has(id)) };
  }

  /**
   * Makes the latest leaf under `messageId` the session's active leaf (flips to that version of the
   * conversation) and returns the session as it now reads. `not_found` for another user's session
   * or a message not in it; `run_in_progress` while an answer is being generated.
   */
  async function switchBranch(sessionId: string, userId: string, messageId: string): Promise<ChatSession> {
    if (!isUuid(sessionId)) throw notFound();
    const outcome = await sessions.switchLeaf(sessionId, userId, messageId);
    if (outcome === 'no_session') throw notFound();
    if (outcome === 'no_message') throw notFound('Message');
    if (outcome === 'running') {
      throw new ChatError(
        'run_in_progress',
        'An answer is being generated in this chat. Wait for it, or stop it, before switching versions.',
        { retryAfterSeconds: 1 },
      );
    }
    return (await loadSession(sessionId, userId))!;
  }

  /** The active run of a session the user owns, or null. */
  async function activeRunId(sessionId: string, userId: string): Promise<string | null> {
    const row = await ownedSession(sessionId, userId);
    return row.status === 'running' ? row.activeRunId : null;
  }

  /**
   * The event log of the session's active run as readers follow it (a resumed run writes a new one),
   * or null when nothing runs — also while the run waits for tool approvals.
   */
  async function activeLogId(sessionId: string, userId: string): Promise<string | null> {
    const runId = await activeRunId(sessionId, userId);
    if (!runId) return null;
    const run = await runs.status(runId);
    if (run?.status !== 'running') return null;
    return logIdOf(runId, run.resumes);
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
    // A run waiting for tool approvals runs nowhere: it is ended here, its calls not run.
    else if (!(await desk.endWaiting(runId, 'stop requested'))) await eventLog.requestStop(runId);
    return true;
  }

  /**
   * Closes runs whose owner stopped renewing its lease (its process died, or lost the database for
   * longer than the lease). A run whose end record is kept (it ended while the database was away) is
   * stored from that record, as it ended; any other is closed as interrupted with the partial answer
   * (from the shared event log, or the last checkpoint) and charged for every call it made.
   */
  async function recoverInterruptedRuns(): Promise<number> {
    let recovered = 0;
    const expired = await runs.expired();
    // The database answers: whatever waits to be stored can be stored now.
    settler.retryNow();
    for (const run of expired) {
      if (active.has(run.runId)) continue;
      // Its owner is alive — the lease ran out while the database was away — and renews or ends it.
      // …unless it handed the run on as it stopped (released it), for another instance to continue.
      if (run.owner !== owner && (await presence.alive(run.owner)) && !(await takeovers.released(run.runId))) continue;
      try {
        if ((await closeOwnerlessRun(run, 'owner stopped responding', true)) !== 'ended-elsewhere') recovered++;
      } catch (error) {
        if (outageOf(error)) throw error; // the database went away: the next sweep tries again
        // One run that cannot be closed (e.g. its checkpoint is sealed with a key that is not
        // configured) must not hold up the others; it stays running, and is tried at every sweep.
        log.error(
          { runId: run.runId, sessionId: run.sessionId, err: errorSummary(error) },
          'closing an interrupted run failed; it is tried again at the next sweep',
        );
      }
    }
    return recovered;
  }

  /**
   * Ends a running run on behalf of its owner: from its kept end record if there is one, else as
   * interrupted with what is known. Exactly one party ends a run, so racing the owner or another
   * instance is safe. Throws while the database is away.
   */
  async function closeOwnerlessRun(
    run: ExpiredRun,
    reason: string,
    mayContinue = false,
  ): Promise<'stored' | 'interrupted' | 'continued' | 'ended-elsewhere'> {
    const record = await settler.find(run.runId);
    if (record) {
      const result = await settler.settle(record);
      if (result === 'stored')
        log.info({ runId: run.runId, sessionId: run.sessionId, to: record.status }, 'run stored from its kept end record');
      return result;
    }
    // Rather than cut the answer, continue it here (when possible: see run-takeover.ts). A run that
    // went on after tool approvals writes the log of its latest part, which continuing does not follow
    // yet: such a run is closed with what it had, as before.
    if (mayContinue && !closing && !run.resumes) {
      const taken = await takeover.tryContinue(run);
      if (taken === 'continued') return 'continued';
      if (taken === 'taken') return 'ended-elsewhere';
    }
    const logId = logIdOf(run.runId, run.resumes ?? 0);
    const rebuilt = await rebuildFromLog(logId, run.resumes ? () => runs.checkpoint(run.runId) : undefined);
    const partial =
      rebuilt?.message() ??
      (await runs.checkpoint(run.runId).catch((error: unknown) => {
        if (outageOf(error)) throw error;
        // Not dropped: closing the run without it would lose the partial answer for good.
        throw Object.assign(new Error('The partial answer checkpointed with the run cannot be read.', { cause: error }), {
          code: 'checkpoint_unreadable',
        });
      }));
    // Without a shared log or saved progress, what the checkpoint holds is what the call in flight wrote.
    const checkpointChars = partial?.parts.reduce((sum, part) => sum + (part.type === 'text' ? part.text.length : 0), 0);
    const usage = interruptedRunUsage({
      progress: run.progress,
      inFlightChars: rebuilt?.unaccountedChars ?? (run.progress ? undefined : checkpointChars),
      model: models.chatModelId,
      fallbackPromptTokens: run.progress ? 0 : await runs.promptEstimate(run.sessionId),
    });
    const message = partial && { ...partial, metadata: { sessionId: run.sessionId, usage: totalsOf(usage) } };
    try {
      await runs.end(run.runId, run.sessionId, run.userId, { status: 'interrupted', reason, message, usage });
    } catch (error) {
      if (RunStateError.isInstance(error)) return 'ended-elsewhere'; // its owner or another instance closed it first
      throw error;
    }
    hooks.tokensUsed?.(usage);
    log.warn(
      { runId: run.runId, sessionId: run.sessionId, from: 'running', to: 'interrupted', reason, upstreamCalls: usage.length },
      'run interrupted',
    );
    if (await eventLog.exists(logId)) {
      await eventLog.append(logId, {
        type: 'error',
        errorText: 'The server generating this answer stopped unexpectedly. What was written so far has been saved; please try again.',
      });
      await eventLog.append(logId, { type: 'finish', messageMetadata: { sessionId: run.sessionId } });
      await eventLog.end(logId);
    }
    hooks.runEnded?.('interrupted');
    return 'interrupted';
  }

  /** The answer as the shared event log has it (every chunk), or undefined without one. */
  async function rebuildFromLog(runId: string, pausedAnswer?: () => Promise<ChatMessage | undefined>): Promise<AnswerBuilder | undefined> {
    if (eventLog.kind === 'memory' || !(await eventLog.exists(runId))) return undefined;
    // A run resumed after tool approvals goes on from the answer it paused with (kept with the run).
    const paused = await pausedAnswer?.();
    const reader = new AbortController();
    const timer = setTimeout(() => reader.abort(), 2000);
    let builder: AnswerBuilder | undefined;
    try {
      for await (const chunk of eventLog.read(runId, reader.signal)) {
        if (chunk.type === 'start')
          builder = paused ? AnswerBuilder.continuing(paused) : new AnswerBuilder(chunk.messageId ?? randomUUID());
        builder?.apply(chunk);
      }
    } finally {
      clearTimeout(timer);
    }
    return builder;
  }

  /**
   * Before a running session is deleted, its run is ended — stopped by its owner, wherever it runs,
   * or closed here if the owner does not answer — so that the answer's usage is recorded (usage rows
   * outlive the session; budgets stay honest).
   */
  async function endRunBeforeDelete(runId: string): Promise<void> {
    if (await desk.endWaiting(runId, 'session deleted')) return;
    const local = active.get(runId);
    if (local) {
      local.controller.abort();
      await local.done.catch(() => undefined);
    } else if (!settler.has(runId) && !(await settler.find(runId))) {
      await eventLog.requestStop(runId);
      // The owner ends the log after it stored the run: reading to the end waits for exactly that.
      const reader = new AbortController();
      const timer = setTimeout(() => reader.abort(), STOP_WAIT_MS);
      try {
        for await (const _event of eventLog.read(runId, reader.signal)) {
          // drained
        }
      } catch {
        // the log could not be read: the run is closed below if it is still running
      } finally {
        clearTimeout(timer);
      }
    }
    const still = await runs.running(runId);
    if (still) await closeOwnerlessRun(still, 'session deleted');
  }

  // Answers an earlier process kept in the journal are taken over before any sweep, so that the
  // sweep stores them as they ended rather than as interrupted.
  settler.adopt(leftBehind);
  const sweeper = setInterval(
    () => {
      desk
        .sweepExpired()
        .catch((error: unknown) =>
          log.warn({ err: errorSummary(error) }, 'ending expired tool approvals failed; the next sweep tries again'),
        );
      recoverInterruptedRuns().catch((error: unknown) => {
        const service = outageOf(error);
        if (service)
          log.warn({ err: errorSummary(error), service }, 'recovering interrupted runs failed: a backing service is not answering');
        else log.error({ err: errorSummary(error) }, 'recovering interrupted runs failed');
      });
      // Agent executions are swept in the same tick (src/executions/execution-service.ts).
      executionService.recover().catch((error: unknown) => {
        log.warn({ err: errorSummary(error), service: outageOf(error) }, 'recovering interrupted executions failed');
      });
    },
    Math.max(250, Math.floor(config.runLeaseMs / 2)),
  );
  sweeper.unref();
  try {
    await recoverInterruptedRuns();
  } catch (error) {
    // Not fatal: the sweeper tries again every RUN_LEASE_MS / 2. But never silent.
    log.error(
      { err: errorSummary(error), service: outageOf(error) },
      'recovering interrupted runs at start failed; the sweeper will retry',
    );
  }
  try {
    await executionService.recover();
  } catch (error) {
    log.error(
      { err: errorSummary(error), service: outageOf(error) },
      'recovering interrupted executions at start failed; the sweeper will retry',
    );
  }

  async function loadSession(sessionId: string, userId?: string): Promise<ChatSession | null> {
    if (!isUuid(sessionId)) return null;
    const [session, given] = await Promise.all([sessions.load(sessionId), feedback.ofSession(sessionId)]);
    if (!session || (userId !== undefined && session.userId !== userId)) return null;
    for (const message of session.messages) {
      const entry = given.get(message.id);
      if (entry) message.metadata = { ...message.metadata, feedback: entry };
    }
    // An answer waiting for tool approvals is shown as it stands, with what it asks.
    const waiting = session.status === 'running' ? await desk.waiting(sessionId) : undefined;
    if (waiting) {
      session.messages.push(waiting.answer);
      session.pendingApprovals = waiting.pending;
    }
    return session;
  }

  /**
   * Stops taking new runs, lets running ones finish for up to `graceMs`, and stops the rest (their
   * partial answers are stored). Connections stay open, so readers can still take the last events.
   */
  function drain(graceMs = 0): Promise<void> {
    draining ??= (async () => {
      closing = true;
      clearInterval(sweeper);
      const executionsDrained = executionService.drain(graceMs);
      const deadline = Date.now() + graceMs;
      if (starting.size > 0) {
        // Bounded: a start stuck on an unreachable database must not hold the shutdown.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(starting),
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.max(graceMs, STARTS_WAIT_MS));
          }),
        ]);
        clearTimeout(timer);
      }
      // Runs started by those starts count too: wait until none is left or the grace period is over.
      while (active.size > 0 && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...active.values()].map((run) => run.done.catch(() => undefined))),
          new Promise((resolve) => {
            timer = setTimeout(resolve, deadline - Date.now());
          }),
        ]);
        clearTimeout(timer);
      }
      // Out of grace: runs another instance can continue are handed on (their readers see the answer
      // go on); the rest are stopped as if the user had pressed Stop, their partial answers stored.
      for (const run of active.values()) {
        if (run.handOff && takeover.possible && (run.continuations ?? 0) < config.runContinueMax) {
          handedOn++;
          run.handOff.abort();
        } else {
          run.controller.abort();
        }
      }
      await Promise.all([...active.values()].map((run) => run.done.catch(() => undefined)));
      // The titles asked for so far are written (a library user's close() leaves its chat named), for
      // as long as the grace period allows but at least a few seconds; then any left are abandoned.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        titles.settled(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.max(deadline - Date.now(), TITLES_WAIT_MS));
        }),
      ]);
      clearTimeout(timer);
      titles.stop();
      await executionsDrained;
    })();
    return draining;
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
    /** Agent executions: start, read, follow, stop, list (src/executions/execution-service.ts). */
    executions: executionService,

    async createChatSession(userId: string): Promise<ChatSession> {
      const problem = userIdProblem(userId);
      if (problem) throw new ChatError('invalid_request', `The user id cannot name a user: ${problem}.`);
      const summary = await sessions.create(randomUUID(), userId);
      return { ...summary, messages: [], usage: [] };
    },

    getChatSession: loadSession,

    /** Every message of the user's session on every branch, in the order stored, each with its parent. */
    async allMessages(sessionId: string, userId: string): Promise<SessionMessage[]> {
      await ownedSession(sessionId, userId);
      return sessions.messages(sessionId);
    },

    /**
     * The user's session with this id, created (empty) if no session has it. Returns true when it was
     * created now. Throws `not_found` when the id is another user's session.
     */
    async openChatSession(sessionId: string, userId: string): Promise<boolean> {
      if (!isUuid(sessionId)) throw notFound();
      const created = await sessions.createIfAbsent(sessionId, userId);
      if (!created) await ownedSession(sessionId, userId);
      return created;
    },

    async listChatSessions(userId: string, page: { limit?: number; cursor?: SessionCursor } = {}) {
      const limit = Math.min(Math.max(page.limit ?? 20, 1), 100);
      return sessions.list(userId, limit, page.cursor);
    },

    async deleteChatSession(sessionId: string, userId: string): Promise<void> {
      const row = await ownedSession(sessionId, userId);
      if (row.status === 'running' && row.activeRunId) {
        await endRunBeforeDelete(row.activeRunId);
        await eventLog.forget([row.activeRunId]);
      }
      await sessions.delete(sessionId);
    },

    /**
     * Records the session owner's feedback on one of its answers (replacing any earlier feedback).
     * Throws `not_found` for another user's session or a message that is not an answer in it.
     */
    async setFeedback(
      sessionId: string,
      userId: string,
      messageId: string,
      given: { rating: FeedbackRating; comment?: string },
    ): Promise<Feedback> {
      await ownedSession(sessionId, userId);
      const stored = await feedback.set(sessionId, userId, messageId, given.rating, given.comment?.trim() || undefined);
      if (!stored) throw notFound('Answer');
      hooks.feedbackGiven?.(given.rating);
      return stored;
    },

    /** Withdraws feedback; false when there was none. */
    async clearFeedback(sessionId: string, userId: string, messageId: string): Promise<boolean> {
      await ownedSession(sessionId, userId);
      return feedback.clear(sessionId, messageId);
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
      else if (session.title && session.title !== sessions.toSummary(existing).title)
        await sessions.setTitle(session.sessionId, session.title);
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
      const run = await startRun(sessionId, message, { userId, parentId: options.parentId });
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
    regenerateRun,
    switchBranch,
    readRun,
    activeRunId,
    activeLogId,
    /**
     * Records the user's answer to a tool call waiting for approval; when it was the last one the run
     * waited for, the run resumes here and `resumed` names the event log to read.
     */
    async answerApproval(sessionId: string, userId: string, approvalId: string, answer: { approved: boolean; reason?: string }) {
      await ownedSession(sessionId, userId);
      return desk.answer(sessionId, userId, approvalId, answer.approved, answer.reason);
    },
    /** The approvals a `useChat` body answers (`addToolApprovalResponse`); the resumed run's log, or undefined when it answers none. */
    answerApprovalsFromMessages: (sessionId: string, userId: string, messages: { role: string; parts: Record<string, unknown>[] }[]) =>
      desk.answerFromMessages(sessionId, userId, messages),
    stopRun,
    recoverInterruptedRuns,
    /** Ends the runs whose tool approvals expired unanswered (the sweeper does this on its own). */
    endExpiredApprovals: () => desk.sweepExpired(),
    /** Waits for a run executing in this process to end (tests, shutdown). */
    async waitForRun(runId: string): Promise<RunResult | undefined> {
      return active.get(runId)?.done;
    },
    /** Resolves when every chat title asked for so far is made or given up (tests that count statements). */
    titlesSettled: (): Promise<void> => titles.settled(),

    usage: (userId: string): Promise<BudgetStatus> => budget.status(userId),

    /**
     * Every session, message, usage row, feedback and library entry of a user (GDPR access), as the
     * text of one JSON document in pieces, read in batches at the database's background priority.
     */
    exportUser(userId: string): AsyncGenerator<string> {
      return userExportJson(
        {
          db: database.background,
          sessions: backgroundSessions,
          agents,
          feedback,
          approvals: new ApprovalsRepository(database.background, cipher),
          executions: new ExecutionsRepository(database.background, cipher),
        },
        userId,
      );
    },

    /**
     * Erases every row and every shared-state entry of a user (GDPR erasure). What they spent in the
     * current budget week stays counted, under an anonymous subject (see usage-subject.ts).
     */
    async eraseUser(userId: string): Promise<void> {
      const runIds = await sessions.runIdsOfUser(userId);
      for (const runId of runIds) active.get(runId)?.controller.abort();
      await Promise.all(runIds.map((runId) => active.get(runId)?.done));
      await eventLog.forget(runIds);
      await rateLimiter.forget(userId);
      await executionService.forgetUser(userId);
      await sessions.eraseUser(userId, { subject: subjectOf(userId), since: startOfUtcWeek(new Date()) });
    },

    /** What readiness depends on; `accepting` turns false as soon as shutdown begins, so a load balancer drains this instance. */
    async ready(): Promise<{ accepting: boolean; database: boolean; redis?: boolean }> {
      const [db, shared] = await Promise.all([database.ping(), config.redisUrl ? eventLog.ping() : Promise.resolve(undefined)]);
      const accepting = !closing;
      return shared === undefined ? { accepting, database: db } : { accepting, database: db, redis: shared };
    },

    /** Answers kept until the database takes them, in this process: how many, and their size. */
    pendingSaves: () => settler.stats(),
    /** Where they are kept: `journal` (DATA_DIR), `redis`, or `memory` (nowhere durable). */
    pendingSavesPlace: place.kind,

    /** Statements sent to the database so far (for tests of how much work an operation does). */
    statementCount: () => database.statementCount(),
    databaseKind: database.kind,
    activeRunCount: () => active.size,
    /** How many running answers this process handed on to another instance as it stopped. */
    handedOnCount: () => handedOn,

    drain,

    /** `drain(graceMs)`, then stores what the settler still holds if it can, and closes the event log, Redis, MCP clients and the database. */
    close(graceMs = 0): Promise<void> {
      closed ??= (async () => {
        await drain(graceMs);
        runDeps.leases.stop();
        executionService.close();
        await settler.close();
        await eventLog.close();
        redis?.disconnect();
        await mcp?.close();
        await database.close();
      })();
      return closed;
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
