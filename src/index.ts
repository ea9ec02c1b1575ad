/** autochat's public library surface. */
import { type ChatService, type ChatServiceOptions, createChatService as openChatRuntime } from './chat/chat-service.js';

/** Opens the chat service: the database, the run event log and the models (README.md, "As a library"). */
export const createChatService: (options?: ChatServiceOptions) => Promise<ChatService> = openChatRuntime;
export { LOCAL_USER } from './chat/chat-service.js';
export type { ChatService, ChatServiceOptions, RunRequest, StartedRun, StreamOptions } from './chat/chat-service.js';
export type { ChatMessage, ChatSession, ChatSessionSummary, TokenUsage, UsageEntry, RunOutcome, SessionStatus } from './chat/types.js';
export { ChatError, errorStatus } from './errors.js';
export type { ErrorCode } from './errors.js';
export { ConfigError, loadConfig } from './config.js';
export type { Config } from './config.js';
export { createDemoModel, DEMO_MODEL_ID } from './llm/demo-model.js';
