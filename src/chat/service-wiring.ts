/**
 * Builds what the chat service runs on, once at start: settings, the database (its keys checked),
 * the run event log and Redis, where unsaved answers wait, MCP tools, the repositories, budgets and
 * rate limits, the models, the shipped catalog and agent executions — and closes them in order.
 * A start that fails part way closes what it opened.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ToolSet } from 'ai';
import { Redis } from 'ioredis';
import { type Config, type ConfigOverrides, loadConfig } from '../config.js';
import { createExecutionService, type ExecutionService } from '../executions/execution-service.js';
import { createLanguageModels, type LanguageModels } from '../llm/language-models.js';
import { createLogger, libraryLogDestination, type Logger } from '../logger.js';
import { loadMcpTools } from '../mcp/mcp-client-tools.js';
import { AgentsRepository } from '../store/agents-repository.js';
import { ApprovalsRepository } from '../store/approvals-repository.js';
import { readCatalogFile, SHIPPED_CATALOG } from '../store/catalog.js';
import { type ContentCipher, createContentCipher } from '../store/content-cipher.js';
import { type Database, openDatabase } from '../store/database.js';
import type { EndRecord } from '../store/end-record.js';
import { ExecutionsRepository } from '../store/executions-repository.js';
import { FeedbackRepository, type FeedbackRating } from '../store/feedback-repository.js';
import { verifyEncryptionKeys } from '../store/key-check.js';
import { memoryPendingSaves, type PendingSaves } from '../store/pending-saves.js';
import type { NewUsage } from '../store/records.js';
import { RunTakeovers } from '../store/run-takeover.js';
import { RunsRepository } from '../store/runs-repository.js';
import { SessionsRepository } from '../store/sessions-repository.js';
import { openSpillJournal } from '../store/spill-journal.js';
import { createMemoryRunEventLog } from '../streams/memory-run-event-log.js';
import { noOwnerPresence, type OwnerPresence, redisOwnerPresence } from '../streams/owner-presence.js';
import { createRedisPendingSaves } from '../streams/redis-pending-saves.js';
import { createRedisRunEventLog } from '../streams/redis-run-event-log.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { createToolApprovalPolicy } from '../tools/tool-approval-policy.js';
import { createToolSet } from '../tools/tool-set.js';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '../usage/rate-limiter.js';
import { TokenBudget } from '../usage/token-budget.js';
import { loadUsageSubject, type UsageSubject } from '../usage/usage-subject.js';
import { createLeaseKeeper, type LeaseKeeper } from './lease-keeper.js';
import { createRunSettler, type RunSettler } from './run-settler.js';
import type { RunOutcome } from './types.js';

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

/** What the service tells whoever watches it (the HTTP server's metrics), as it happens. */
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

/** The options of the service as the process around it builds it: the library's, and who watches its runs. */
export type ChatRuntimeOptions = ChatServiceOptions & {
  /** Told as runs start, end, pause and spend (the HTTP server's metrics); set once, at start. */
  events?: RunEventsHook;
};

/** The settings a set of service options selects: explicit options over the environment. */
export function configOf(options: ChatRuntimeOptions): Config {
  const {
    env,
    logger: _logger,
    fetch: _fetch,
    extraTools: _extraTools,
    seedCatalog: _seed,
    demoDelayMs: _delay,
    titleWaitMs: _wait,
    events: _events,
    ...overrides
  } = options;
  return loadConfig(env ?? process.env, overrides);
}

export type ServiceWiring = {
  config: Config;
  log: Logger;
  /** This process's name as the owner of runs and leases. */
  owner: string;
  events: RunEventsHook;
  database: Database;
  cipher: ContentCipher;
  subjectOf: UsageSubject;
  eventLog: RunEventLog;
  /** Where the end of a run waits if the database cannot take it, and what an earlier process left there. */
  place: PendingSaves;
  leftBehind: EndRecord[];
  presence: OwnerPresence;
  models: LanguageModels;
  sessions: SessionsRepository;
  /** For work no one waits on as it happens (titles, exports): its statements queue behind turns'. */
  backgroundSessions: SessionsRepository;
  runs: RunsRepository;
  approvals: ApprovalsRepository;
  /** The store as the API, MCP and imports use it (bulk and batch work). */
  agents: AgentsRepository;
  feedback: FeedbackRepository;
  takeovers: RunTakeovers;
  budget: TokenBudget;
  rateLimiter: RateLimiter;
  settler: RunSettler;
  leases: LeaseKeeper;
  executions: ExecutionService;
  extraTools: ToolSet | undefined;
  needsApproval: ReturnType<typeof createToolApprovalPolicy>;
  /** The tools of a turn of this user (the store as a turn's tools use it); made once per user and kept. */
  toolsFor(userId: string): ToolSet;
  /** Drops the tools kept for a user (erasure). */
  forgetTools(userId: string): void;
  /** Closes, in order, what was opened here (the settler stores what it still holds first, if it can). */
  close(): Promise<void>;
};

export async function openServiceWiring(options: ChatRuntimeOptions): Promise<ServiceWiring> {
  const { logger, fetch: upstreamFetch, extraTools: givenTools, seedCatalog = true, demoDelayMs } = options;
  const config: Config = configOf(options);
  const log = logger ?? createLogger(config.logLevel, libraryLogDestination());
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const events: RunEventsHook = options.events ?? {};

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
  const backgroundSessions = new SessionsRepository(database.background, cipher);
  const runs = new RunsRepository(database.db, sessions, cipher);
  const approvals = new ApprovalsRepository(database.db, cipher);
  const agents = new AgentsRepository(database.background);
  const turnAgents = new AgentsRepository(database.db);
  const feedback = new FeedbackRepository(database.db, cipher);
  const executionRows = new ExecutionsRepository(database.db, cipher);
  const budget = new TokenBudget(database.db, config.limits, subjectOf);
  const rateLimiter: RateLimiter = redis
    ? createRedisRateLimiter(redis, config.limits.requestsPerMinute)
    : createMemoryRateLimiter(config.limits.requestsPerMinute);
  const models: LanguageModels = createLanguageModels(config, { fetch: upstreamFetch, demoDelayMs });

  const presence: OwnerPresence = redis ? redisOwnerPresence(redis, owner, config.runLeaseMs) : noOwnerPresence;
  const settler = createRunSettler({
    runs,
    executions: executionRows,
    place,
    log,
    maxBytes: config.pendingSaves.maxBytes,
    onStored: (record) => events.tokensUsed?.(record.usage),
    onRetryFailed: () => events.saveRetryFailed?.(),
    onOverflow: () => events.saveOverflowed?.(),
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
  const executions = createExecutionService({
    config,
    executions: executionRows,
    agents: turnAgents,
    settler,
    eventLog,
    models,
    budget,
    rateLimiter,
    presence,
    owner,
    log,
    extraTools,
    onUsageStored: (usage) => events.tokensUsed?.(usage),
  });
  const leases = createLeaseKeeper({ runs, owner, leaseMs: config.runLeaseMs, checkpoints: eventLog.kind === 'memory', log, presence });

  // A user's tools hold nothing of a run: made once per user (the most recent few hundred kept), not
  // per turn, which an open answer would otherwise hold (bench/findings.md, memory per open stream).
  const userTools = new Map<string, ToolSet>();
  function toolsFor(userId: string): ToolSet {
    let tools = userTools.get(userId);
    if (tools) userTools.delete(userId);
    else tools = createToolSet({ agents: turnAgents, userId, executions }, extraTools);
    userTools.set(userId, tools);
    if (userTools.size > 500) userTools.delete(userTools.keys().next().value!);
    return tools;
  }

  return {
    config,
    log,
    owner,
    events,
    database,
    cipher,
    subjectOf,
    eventLog,
    place,
    leftBehind,
    presence,
    models,
    sessions,
    backgroundSessions,
    runs,
    approvals,
    agents,
    feedback,
    takeovers: new RunTakeovers(database.db),
    budget,
    rateLimiter,
    settler,
    leases,
    executions,
    extraTools,
    needsApproval,
    toolsFor,
    forgetTools: (userId) => {
      userTools.delete(userId);
    },
    async close() {
      leases.stop();
      executions.close();
      await settler.close();
      await eventLog.close();
      redis?.disconnect();
      await mcp?.close();
      await database.close();
    },
  };
}
