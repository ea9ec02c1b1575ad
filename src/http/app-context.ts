/**
 * The typed context every route sees: the services built once at start, each handed over by name
 * (the chat's calls, the agent store, executions, the run event log, settings, metrics), and who is
 * asking. Routes reach nothing through the chat service that is not listed here.
 */
import type { ChatRuntime, ChatService } from '../chat/chat-service.js';
import type { Config } from '../config.js';
import type { ExecutionService } from '../executions/execution-service.js';
import type { Logger } from '../logger.js';
import type { AgentsRepository } from '../store/agents-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import type { Metrics } from './metrics.js';

/** The chat calls routes make: the library API, and tool approvals, feedback and the session's active run. */
export type ChatCalls = Omit<ChatService, 'close'> &
  Pick<
    ChatRuntime,
    'openChatSession' | 'setFeedback' | 'clearFeedback' | 'activeLogId' | 'stopRun' | 'answerApproval' | 'answerApprovalsFromMessages'
  >;

/** What the operations routes report: readiness, runs and unsaved answers here, the model. */
export type ServiceStatus = Pick<ChatRuntime, 'ready' | 'activeRunCount' | 'pendingSaves' | 'demo' | 'chatModelId'>;

export type AppServices = {
  chat: ChatCalls;
  /** The agent store as the API uses it (search, library). */
  agents: AgentsRepository;
  executions: ExecutionService;
  /** The run event log, for checking a run's log exists before following it. */
  eventLog: RunEventLog;
  status: ServiceStatus;
  config: Config;
  metrics: Metrics;
  log: Logger;
  version: string;
};

/** The services of an app serving `chat`: each part the routes use, taken from it once, here. */
export function appServicesOf(chat: ChatRuntime, extra: { metrics: Metrics; version: string }): AppServices {
  return {
    chat,
    agents: chat.agents,
    executions: chat.executions,
    eventLog: chat.eventLog,
    status: chat,
    config: chat.config,
    log: chat.log,
    ...extra,
  };
}

export type AppEnv = {
  Variables: {
    services: AppServices;
    requestId: string;
    userId: string;
    log: Logger;
  };
};
