/**
 * Agents you can run: starts executions (checked inputs, the user's budget and live-execution limit),
 * lets their owner read, follow, stop and list them from any instance, and closes executions whose
 * owner died (a sweep, as for chat runs). Each execution runs in this process, owned by the service,
 * never by a request (execution-run.ts).
 */
import { randomUUID } from 'node:crypto';
import type { ToolSet, UIMessageChunk } from 'ai';
import type { Logger } from 'pino';
import { AnswerBuilder } from '../chat/answer-builder.js';
import { createLeaseKeeper, type LeaseKeeper } from '../chat/lease-keeper.js';
import { createContinuation, LoggedAnswer, type RunContinuation } from '../chat/run-continuation.js';
import type { RunSettler } from '../chat/run-settler.js';
import type { Config } from '../config.js';
import { ChatError, noSuchAgent } from '../errors.js';
import { executionPrompt } from '../llm/agent-run-prompt.js';
import type { LanguageModels } from '../llm/language-models.js';
import { outageOf } from '../service-outage.js';
import { validateInputs, missingInputs, type AgentDefinition, type AgentInputs } from '../store/agent-definition.js';
import type { AgentsRepository } from '../store/agents-repository.js';
import type {
  Execution,
  ExecutionCursor,
  ExecutionEndStatus,
  ExecutionsRepository,
  ExpiredExecution,
} from '../store/executions-repository.js';
import type { OwnerPresence } from '../streams/owner-presence.js';
import type { NewUsage } from '../store/runs-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { createToolSet } from '../tools/tool-set.js';
import { interruptedRunUsage } from '../usage/interrupted-run-usage.js';
import type { RateLimiter } from '../usage/rate-limiter.js';
import { COMPLETION_RESERVE_TOKENS, type TokenBudget } from '../usage/token-budget.js';
import { executeAgentRun, executionLogKey, SHUTDOWN } from './execution-run.js';
import { storedExecutionChunks } from './stored-execution-chunks.js';
import { errorSummary } from '../logger.js';

/** What `get_required_setup_info` and the run form need: the agent's inputs and which are still missing. */
export type RequiredSetup = { slug: string; name: string; inputs: AgentInputs; missing: string[] };
export type StartedExecution = { executionId: string; status: 'queued' };

export type ExecutionService = {
  requiredSetup(slug: string, given?: Record<string, unknown>): Promise<RequiredSetup>;
  start(userId: string, slug: string, inputs: unknown): Promise<StartedExecution>;
  get(executionId: string, userId: string): Promise<Execution>;
  list(
    userId: string,
    page?: { limit?: number; cursor?: ExecutionCursor },
  ): Promise<{ executions: Execution[]; nextCursor: ExecutionCursor | null }>;
  /**
   * After checking the caller owns it: a reader of every event of the execution from its first, then
   * live until it ends — or, once its log is gone, a replay of what was stored.
   */
  reader(executionId: string, userId: string): Promise<(signal?: AbortSignal) => AsyncIterable<UIMessageChunk>>;
  stop(executionId: string, userId: string): Promise<{ stopped: boolean }>;
  recover(): Promise<number>;
  /** Waits for an execution running in this process to end (tests, the terminal). */
  waitFor(executionId: string): Promise<ExecutionEndStatus | undefined>;
  /** Stops the user's executions in this process and forgets their event logs (erasure). */
  forgetUser(userId: string): Promise<void>;
  activeCount(): number;
  drain(graceMs: number): Promise<void>;
  close(): void;
};

export type ExecutionServiceDeps = {
  config: Config;
  executions: ExecutionsRepository;
  agents: AgentsRepository;
  /** Stores an execution's end, or keeps it durably while the database is away (src/chat/run-settler.ts). */
  settler: RunSettler;
  eventLog: RunEventLog;
  models: LanguageModels;
  budget: TokenBudget;
  rateLimiter: RateLimiter;
  presence: OwnerPresence;
  owner: string;
  log: Logger;
  extraTools?: ToolSet;
  /** Told the usage rows of an execution a sweep closed (metrics); the settler tells those of every other end. */
  onUsageStored?: (usage: NewUsage[]) => void;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const executionNotFound = () => new ChatError('not_found', 'Execution not found.');

/** Seconds a client is asked to wait before starting another execution when its limit is reached. */
const LIVE_LIMIT_RETRY_SECONDS = 30;

export function createExecutionService(deps: ExecutionServiceDeps): ExecutionService {
  const { config, executions, agents, eventLog, models, log, owner } = deps;
  const leases: LeaseKeeper = createLeaseKeeper({
    runs: executions,
    owner,
    leaseMs: config.runLeaseMs,
    checkpoints: eventLog.kind === 'memory',
    log,
    presence: deps.presence,
  });
  const active = new Map<string, { userId: string; controller: AbortController; done: Promise<ExecutionEndStatus> }>();
  let closing = false;

  async function runnable(slug: string) {
    const found = typeof slug === 'string' && slug.length <= 200 ? await agents.runnable(slug) : undefined;
    if (!found) throw noSuchAgent(String(slug).slice(0, 100));
    if (!found.definition)
      throw new ChatError('invalid_request', `The agent "${found.agent.name}" (${slug}) cannot be run: it has no runnable definition.`);
    return { agent: found.agent, definition: found.definition };
  }

  async function owned(executionId: string, userId: string): Promise<Execution> {
    const execution = UUID.test(executionId) ? await executions.get(executionId, userId) : undefined;
    if (!execution) throw executionNotFound();
    return execution;
  }

  async function start(userId: string, slug: string, given: unknown): Promise<StartedExecution> {
    if (closing)
      throw new ChatError('upstream_unavailable', 'The server is shutting down. Please try again in a moment.', { retryAfterSeconds: 2 });
    await deps.rateLimiter.take(userId);
    const { agent, definition } = await runnable(slug);
    const checked = validateInputs(definition, given);
    if (!checked.ok) {
      const missing = checked.missing.length > 0 ? ` Missing: ${checked.missing.join(', ')}.` : '';
      throw new ChatError(
        'invalid_request',
        `The inputs for ${agent.name} are not complete or not valid: ${checked.problems.map((problem) => problem.message).join(' ')}${missing}`,
      );
    }
    const executionId = randomUUID();
    const logKey = executionLogKey(executionId);
    const prompt = executionPrompt(definition, checked.inputs);
    const reserve = COMPLETION_RESERVE_TOKENS + Math.ceil((prompt.length + definition.instructions.length) / 4);
    await eventLog.open(logKey);
    let refused: { live: number } | undefined;
    try {
      refused = await executions.start({
        executionId,
        userId,
        slug: agent.slug,
        agentName: agent.name,
        inputs: checked.inputs,
        owner,
        leaseMs: config.runLeaseMs,
        maxLive: config.executions.maxLive,
        admission: deps.budget.admission(userId, reserve, config.llm.contextWindowTokens),
      });
    } catch (error) {
      await eventLog.forget([logKey]).catch(() => undefined);
      throw error;
    }
    if (refused) {
      await eventLog.forget([logKey]).catch(() => undefined);
      throw new ChatError(
        'rate_limited',
        `You already have ${refused.live} agent executions running, the most allowed at once (${config.executions.maxLive}). Wait for one to finish, or stop one, then try again.`,
        { retryAfterSeconds: LIVE_LIMIT_RETRY_SECONDS },
      );
    }
    launch({ executionId, userId, definition, prompt });
    log.info({ executionId, userId, slug: agent.slug, to: 'queued' }, 'execution queued');
    return { executionId, status: 'queued' };
  }

  /** The agent's own tools, as this user runs them. */
  function toolsOf(definition: AgentDefinition, userId: string): ToolSet {
    const allTools = createToolSet({ agents, userId }, deps.extraTools);
    return Object.fromEntries(definition.tools.filter((name) => Object.hasOwn(allTools, name)).map((name) => [name, allTools[name]!]));
  }

  /** Runs an execution in this process, from its start or as the continuation of one whose instance died. */
  function launch(run: {
    executionId: string;
    userId: string;
    definition: AgentDefinition;
    prompt: string;
    tools?: ToolSet;
    continuation?: RunContinuation;
  }): void {
    const { executionId, userId, definition } = run;
    const logKey = executionLogKey(executionId);
    const tools = run.tools ?? toolsOf(definition, userId);
    const modelId = !models.demo && definition.model ? definition.model : models.chatModelId;
    const controller = new AbortController();
    const done = executeAgentRun(
      {
        executions,
        settler: deps.settler,
        eventLog,
        leases,
        log,
        maxRetries: config.llm.maxRetries,
        maxSteps: config.executions.maxSteps,
        timeoutMs: config.executions.timeoutMs,
      },
      {
        executionId,
        userId,
        logKey,
        model: modelId === models.chatModelId ? models.chat : models.modelFor(modelId),
        modelId,
        system: definition.instructions,
        prompt: run.prompt,
        tools,
        stopSignal: controller.signal,
        continuation: run.continuation,
      },
    )
      .catch((error: unknown) => {
        log.error({ executionId, err: errorSummary(error) }, 'execution failed unexpectedly');
        return 'failed' as const;
      })
      .finally(() => active.delete(executionId));
    active.set(executionId, { userId, controller, done });
  }

  async function reader(executionId: string, userId: string): Promise<(signal?: AbortSignal) => AsyncIterable<UIMessageChunk>> {
    const execution = await owned(executionId, userId);
    const logKey = executionLogKey(executionId);
    if (await eventLog.exists(logKey)) return (signal) => eventLog.read(logKey, signal);
    // The log is gone (ended long ago, or its owner died without a shared log): what was stored.
    return () => storedExecutionChunks(execution);
  }

  async function stop(executionId: string, userId: string): Promise<{ stopped: boolean }> {
    const execution = await owned(executionId, userId);
    if (execution.status !== 'queued' && execution.status !== 'running') return { stopped: false };
    const local = active.get(executionId);
    if (local) local.controller.abort();
    else await eventLog.requestStop(executionLogKey(executionId));
    return { stopped: true };
  }

  /**
   * Closes live executions whose owner stopped renewing its lease: from the end record kept for it
   * (it ended while the database was away), as it ended; else as interrupted with what it had.
   * The chat service calls it at start and with every sweep of chat runs (every RUN_LEASE_MS / 2).
   */
  async function recover(): Promise<number> {
    let recovered = 0;
    for (const expired of await executions.expired()) {
      if (active.has(expired.executionId)) continue;
      if (expired.owner !== owner && (await deps.presence.alive(expired.owner))) continue;
      try {
        if (await closeOwnerless(expired)) recovered++;
      } catch (error) {
        if (outageOf(error)) throw error;
        log.error(
          { executionId: expired.executionId, err: errorSummary(error) },
          'closing an interrupted execution failed; it is tried again at the next sweep',
        );
      }
    }
    return recovered;
  }

  async function closeOwnerless(expired: ExpiredExecution): Promise<boolean> {
    const record = await deps.settler.find(expired.executionId);
    if (record) {
      const result = await deps.settler.settle(record);
      if (result === 'stored')
        log.info({ executionId: expired.executionId, to: record.status }, 'execution stored from its kept end record');
      return result === 'stored';
    }
    // Rather than cut it short, continue it here when possible (as chat answers: src/chat/run-takeover.ts).
    if (!closing) {
      const taken = await tryContinue(expired);
      if (taken === 'continued') return true;
      if (taken === 'taken') return false;
    }
    const logKey = executionLogKey(expired.executionId);
    const rebuilt = await rebuildFromLog(logKey);
    const partial = rebuilt?.message() ?? (await executions.checkpoint(expired.executionId));
    const usage = interruptedRunUsage({
      progress: expired.progress,
      inFlightChars: rebuilt?.unaccountedChars,
      model: models.chatModelId,
      fallbackPromptTokens: 0,
    }).map((entry) => ({ ...entry, kind: 'execution' as const }));
    const message = 'The server running this agent stopped unexpectedly. What it wrote so far has been kept; please run it again.';
    const ended = await executions.end(expired.executionId, {
      status: 'interrupted',
      reason: 'owner stopped responding',
      error: message,
      output: partial,
      usage,
    });
    if (!ended) return false;
    deps.onUsageStored?.(usage);
    log.warn(
      { executionId: expired.executionId, from: 'running', to: 'interrupted', upstreamCalls: usage.length },
      'execution interrupted',
    );
    if (await eventLog.exists(logKey)) {
      await eventLog.append(logKey, { type: 'error', errorText: message });
      await eventLog.append(logKey, { type: 'abort' });
      await eventLog.end(logKey);
    }
    return true;
  }

  /**
   * Takes over an execution whose owner died and continues it here: its output so far rebuilt from
   * the shared event log, the model asked to go on, appended to the same log and output. Possible with
   * a shared log (Redis), a real model, and fewer than RUN_CONTINUE_MAX continuations; the claim is one
   * conditional statement, so exactly one instance continues it.
   */
  async function tryContinue(expired: ExpiredExecution): Promise<'continued' | 'taken' | 'no'> {
    if (eventLog.kind !== 'redis' || models.demo || config.runContinueMax <= 0) return 'no';
    const { executionId } = expired;
    const claimed = await executions.claim({
      executionId,
      previousOwner: expired.owner,
      owner,
      leaseMs: config.runLeaseMs,
      max: config.runContinueMax,
    });
    if (!claimed) {
      const now = await executions.liveOwner(executionId);
      return now === expired.owner ? 'no' : 'taken';
    }
    // From here it is ours (its lease renewed by the claim): continue it, or close it as interrupted.
    const found = await agents.runnable(claimed.slug);
    const checked = found?.definition ? validateInputs(found.definition, claimed.inputs) : undefined;
    const events = checked?.ok ? await eventLog.adopt(executionLogKey(executionId)) : undefined;
    if (!found?.definition || !checked?.ok || !events) return 'no';
    const logged = new LoggedAnswer();
    for (const event of events) logged.apply(event);
    const usage = interruptedRunUsage({
      progress: claimed.progress,
      inFlightChars: logged.builder?.unaccountedChars,
      model: models.chatModelId,
      fallbackPromptTokens: 0,
    }).map((entry) => ({ ...entry, kind: 'execution' as const }));
    const tools = toolsOf(found.definition, expired.userId);
    log.warn(
      { executionId, userId: expired.userId, previousOwner: expired.owner, continuations: claimed.continuations },
      'continuing an execution whose instance stopped',
    );
    launch({
      executionId,
      userId: expired.userId,
      definition: found.definition,
      prompt: executionPrompt(found.definition, checked.inputs),
      tools,
      continuation: createContinuation(logged, { count: claimed.continuations, usage, tools }),
    });
    return 'continued';
  }

  async function rebuildFromLog(logKey: string): Promise<AnswerBuilder | undefined> {
    if (eventLog.kind === 'memory' || !(await eventLog.exists(logKey))) return undefined;
    const reader = new AbortController();
    const timer = setTimeout(() => reader.abort(), 2000);
    let builder: AnswerBuilder | undefined;
    try {
      for await (const chunk of eventLog.read(logKey, reader.signal)) {
        if (chunk.type === 'start') builder = new AnswerBuilder(chunk.messageId ?? randomUUID());
        builder?.apply(chunk);
      }
    } finally {
      clearTimeout(timer);
    }
    return builder;
  }

  return {
    async requiredSetup(slug, given = {}) {
      const { agent, definition } = await runnable(slug);
      return { slug: agent.slug, name: agent.name, inputs: definition.inputs, missing: missingInputs(definition, given ?? {}) };
    },
    start,
    get: owned,
    async list(userId, page = {}) {
      const limit = Math.min(Math.max(page.limit ?? 20, 1), 100);
      return executions.list(userId, limit, page.cursor);
    },
    reader,
    stop,
    recover,
    async waitFor(executionId) {
      return active.get(executionId)?.done;
    },
    async forgetUser(userId) {
      const mine = [...active.entries()].filter(([, run]) => run.userId === userId);
      for (const [, run] of mine) run.controller.abort();
      await Promise.all(mine.map(([, run]) => run.done));
      const ids = await executions.idsOfUser(userId);
      await eventLog.forget(ids.map(executionLogKey));
    },
    activeCount: () => active.size,
    async drain(graceMs) {
      closing = true;
      const deadline = Date.now() + graceMs;
      while (active.size > 0 && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...active.values()].map((run) => run.done)),
          new Promise((resolve) => {
            timer = setTimeout(resolve, deadline - Date.now());
          }),
        ]);
        clearTimeout(timer);
      }
      for (const run of active.values()) run.controller.abort(SHUTDOWN);
      await Promise.all([...active.values()].map((run) => run.done));
    },
    close() {
      leases.stop();
    },
  };
}
