/**
 * The chat service: the library API (`ChatService`, README.md "As a library"), and what the HTTP
 * server, MCP and the CLI are built on (`ChatRuntime`). It assembles the parts, each in its module:
 * the wiring (service-wiring.ts), the registry of active runs (active-runs.ts), starting runs
 * (run-starts.ts), recovery (run-recovery.ts), titles (session-titles.ts) and the session API
 * (session-api.ts). A run lives here, not in any request.
 */
import type { UIMessageChunk } from 'ai';
import type { ExecutionService } from '../executions/execution-service.js';
import type { Logger } from '../logger.js';
import type { Config } from '../config.js';
import type { AgentsRepository } from '../store/agents-repository.js';
import type { Database } from '../store/database.js';
import type { PendingSaves } from '../store/pending-saves.js';
import type { SessionCursor } from '../store/sessions-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import type { BudgetStatus } from '../usage/token-budget.js';
import { createActiveRuns } from './active-runs.js';
import { createRunRecovery } from './run-recovery.js';
import type { RunSettler } from './run-settler.js';
import { createRunStarts, type RunRequest, type StartedRun, type StreamOptions } from './run-starts.js';
import { createRunTakeover } from './run-takeover.js';
import type { RunDeps } from './run.js';
import { type ChatRuntimeOptions, openServiceWiring } from './service-wiring.js';
import { createSessionApi, type SessionApi } from './session-api.js';
import { createSessionTitles } from './session-titles.js';
import { StartingTurns } from './starting-turns.js';
import { createApprovalDesk } from './tool-approvals.js';
import type { ChatSession, ChatSessionSummary, RunResult, SessionMessage } from './types.js';

export { configOf, type ChatRuntimeOptions, type ChatServiceOptions, type RunEventsHook } from './service-wiring.js';
export type { RunRequest, StartedRun, StreamOptions } from './run-starts.js';
export { isUuid } from './session-owner.js';

/** The user of single-user local mode (no AUTH_JWT_SECRET) and of the CLI. */
export const LOCAL_USER = 'local';

/** How long closing waits at least for the titles already asked for. */
const TITLES_WAIT_MS = 5000;

/** The library API: what README.md ("As a library") and docs/api.md ("TypeScript: the library API") document. */
export interface ChatService {
  createChatSession(userId: string): Promise<ChatSession>;
  /** The session with its active path and usage; null when it does not exist or is another user's. */
  getChatSession(sessionId: string, userId?: string): Promise<ChatSession | null>;
  /**
   * Saves a session object: creates it if new, sets its title, and appends the messages and usage
   * entries it has beyond what is stored. Stored history is never rewritten.
   */
  upsertChatSession(session: ChatSession): Promise<ChatSession>;
  /** The user's sessions, most recently updated first, a page (`limit` 1–100, default 20) at a time. */
  listChatSessions(
    userId: string,
    page?: { limit?: number; cursor?: SessionCursor },
  ): Promise<{ sessions: ChatSessionSummary[]; nextCursor: SessionCursor | null }>;
  /** Deletes the user's session; a running answer is stopped and its usage recorded first. */
  deleteChatSession(sessionId: string, userId: string): Promise<void>;
  /**
   * Streams the answer to `message` as UI-stream events. Breaking out of the loop, or aborting
   * `signal`, stops the run: the upstream request is aborted and the partial answer stored.
   */
  streamChatCompletion(sessionId: string, message: string, options?: StreamOptions): AsyncGenerator<UIMessageChunk>;
  /** Starts a run answering a new message without reading it (read it with `readRun`). */
  startRun(sessionId: string, message: string, input: RunRequest): Promise<StartedRun>;
  /** Starts a run answering a stored user message again; the earlier answers stay as siblings. */
  regenerateRun(sessionId: string, input: { userId: string; messageId?: string }): Promise<StartedRun>;
  /** Every event of a run from its first, then live, until it ends or `signal` aborts. */
  readRun(runId: string, signal?: AbortSignal): AsyncIterable<UIMessageChunk>;
  /** Flips the version of the conversation shown to the latest leaf under `messageId`. */
  switchBranch(sessionId: string, userId: string, messageId: string): Promise<ChatSession>;
  /** Every message of the user's session on every branch, in the order stored, each with its parent. */
  allMessages(sessionId: string, userId: string): Promise<SessionMessage[]>;
  /** The user's token budget: what is used and left today and this week. */
  usage(userId: string): Promise<BudgetStatus>;
  /** Everything stored about the user (GDPR access), as the text of one JSON document in pieces. */
  exportUser(userId: string): AsyncGenerator<string>;
  /** Erases every row and shared-state entry of the user (GDPR erasure). */
  eraseUser(userId: string): Promise<void>;
  /** Stops running answers (after `graceMs`; their partial text is stored), waits for titles, and closes the database. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The library API and what the process around it uses: the HTTP server, the MCP server, the CLI
 * and the tests. Not part of the library's public surface.
 */
export interface ChatRuntime
  extends ChatService,
    Pick<
      SessionApi,
      | 'openChatSession'
      | 'setFeedback'
      | 'clearFeedback'
      | 'activeRunId'
      | 'activeLogId'
      | 'stopRun'
      | 'answerApproval'
      | 'answerApprovalsFromMessages'
    > {
  config: Config;
  log: Logger;
  /** True when the offline demo model answers (no key configured). */
  demo: boolean;
  chatModelId: string;
  databaseKind: Database['kind'];
  /** The agent store as the API, MCP and imports use it. */
  agents: AgentsRepository;
  eventLog: RunEventLog;
  /** Agent executions: start, read, follow, stop, list (src/executions/execution-service.ts). */
  executions: ExecutionService;
  /** Closes runs whose owner stopped renewing its lease (the sweeper does this on its own). */
  recoverInterruptedRuns(): Promise<number>;
  /** Ends the runs whose tool approvals expired unanswered (the sweeper does this on its own). */
  endExpiredApprovals(): Promise<unknown>;
  /** Waits for a run executing in this process to end (tests, shutdown). */
  waitForRun(runId: string): Promise<RunResult | undefined>;
  /** Resolves when every chat title asked for so far is made or given up (tests that count statements). */
  titlesSettled(): Promise<void>;
  /** What readiness depends on; `accepting` turns false as soon as shutdown begins, so a load balancer drains this instance. */
  ready(): Promise<{ accepting: boolean; database: boolean; redis?: boolean }>;
  /** Answers kept until the database takes them, in this process: how many, and their size. */
  pendingSaves: RunSettler['stats'];
  /** Where they are kept: `journal` (DATA_DIR), `redis`, or `memory` (nowhere durable). */
  pendingSavesPlace: PendingSaves['kind'];
  /** Statements sent to the database so far (for tests of how much work an operation does). */
  statementCount(): number;
  activeRunCount(): number;
  /** How many running answers this process handed on to another instance as it stopped. */
  handedOnCount(): number;
  /**
   * Stops taking new runs, lets running ones finish for up to `graceMs`, and stops the rest (their
   * partial answers are stored). Connections stay open, so readers can still take the last events.
   */
  drain(graceMs?: number): Promise<void>;
}

export async function createChatService(options: ChatRuntimeOptions = {}): Promise<ChatRuntime> {
  const wiring = await openServiceWiring(options);
  const { config, log, owner, events, database, eventLog, models, approvals, runs, settler, executions } = wiring;

  const active = createActiveRuns();
  const turns = new StartingTurns();
  const titles = createSessionTitles({
    model: models.title,
    modelId: models.titleModelId,
    maxRetries: config.llm.maxRetries,
    sessions: wiring.backgroundSessions,
    turns,
    log,
    maxWaitMs: options.titleWaitMs,
  });
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
    leases: wiring.leases,
    maxRetries: config.llm.maxRetries,
    maxToolSteps: config.llm.maxToolSteps,
    onEnded: (outcome) => events.runEnded?.(outcome),
    pause: (pause) => approvals.pause({ ...pause, owner, timeoutMs: config.toolApproval.timeoutMs }),
  };
  const starts = createRunStarts({ wiring, active, runDeps, titles, turns });
  const desk = createApprovalDesk({
    approvals,
    runs,
    owner,
    leaseMs: config.runLeaseMs,
    log,
    launch: starts.launchResumed,
    onEnded: () => events.waitingRunEnded?.(),
  });
  const takeover = createRunTakeover({
    takeovers: wiring.takeovers,
    runs,
    sessions: wiring.sessions,
    eventLog,
    owner,
    leaseMs: config.runLeaseMs,
    maxContinuations: config.runContinueMax,
    modelAvailable: !models.demo,
    chatModelId: models.chatModelId,
    toolsFor: wiring.toolsFor,
    launch: starts.launchContinuation,
    log,
  });
  const recovery = createRunRecovery({ wiring, active, desk, takeover });
  const sessionApi = createSessionApi({ wiring, active, desk, recovery });
  await recovery.start();

  let draining: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  function drain(graceMs = 0): Promise<void> {
    draining ??= (async () => {
      recovery.stop();
      const executionsDrained = executions.drain(graceMs);
      const deadline = Date.now() + graceMs;
      await active.drain(graceMs, (run) => takeover.possible && (run.continuations ?? 0) < config.runContinueMax);
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
    ...sessionApi,
    streamChatCompletion: starts.streamChatCompletion,
    startRun: starts.startRun,
    regenerateRun: starts.regenerateRun,
    readRun: (runId, signal) => eventLog.read(runId, signal),

    config,
    log,
    demo: models.demo,
    chatModelId: models.chatModelId,
    databaseKind: database.kind,
    agents: wiring.agents,
    eventLog,
    executions,
    recoverInterruptedRuns: recovery.recoverInterruptedRuns,
    endExpiredApprovals: () => desk.sweepExpired(),
    waitForRun: async (runId) => active.get(runId)?.done,
    titlesSettled: () => titles.settled(),
    async ready() {
      const [db, shared] = await Promise.all([database.ping(), config.redisUrl ? eventLog.ping() : Promise.resolve(undefined)]);
      const accepting = !active.closing;
      return shared === undefined ? { accepting, database: db } : { accepting, database: db, redis: shared };
    },
    pendingSaves: () => settler.stats(),
    pendingSavesPlace: wiring.place.kind,
    statementCount: () => database.statementCount(),
    activeRunCount: () => active.size,
    handedOnCount: () => active.handedOn,
    drain,
    /** `drain(graceMs)`, then stores what the settler still holds if it can, and closes the event log, Redis, MCP clients and the database. */
    close(graceMs = 0): Promise<void> {
      closed ??= (async () => {
        await drain(graceMs);
        await wiring.close();
      })();
      return closed;
    },
  };
}
