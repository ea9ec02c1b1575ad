/** autochat's public library surface. */
export { createChatService, LOCAL_USER } from './chat/chat-service.js';
export type { ChatService, ChatServiceOptions, StreamOptions } from './chat/chat-service.js';
export type { ChatMessage, ChatSession, ChatSessionSummary, TokenUsage, UsageEntry, RunOutcome, SessionStatus } from './chat/types.js';
export { ChatError, errorStatus } from './errors.js';
export type { ErrorCode } from './errors.js';
export { ConfigError, loadConfig } from './config.js';
export type { Config } from './config.js';
export { createDemoModel, DEMO_MODEL_ID } from './llm/demo-model.js';
