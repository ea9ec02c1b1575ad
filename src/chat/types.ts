/**
 * The shapes of the public library API (README.md, "As a library"), one definition each. What the
 * store persists is defined there (src/store/records.ts) and re-exported here.
 */
import type { SessionSummary } from '../api/shapes.js';
import type { RunOutcome } from '../store/records.js';

export type {
  ChatMessage,
  ChatMessageMetadata,
  ChatSession,
  MessagePlace,
  PendingToolApproval,
  RunOutcome,
  SessionMessage,
  SessionStatus,
  TokenUsage,
  UsageEntry,
} from '../store/records.js';

/** What a run's execution comes to: an outcome, or a pause until the user answers tool approvals. */
export type RunResult = RunOutcome | 'awaiting-approval';

/** A session without its history: the API's `SessionSummary` (api/shapes.ts), defined there once. */
export type ChatSessionSummary = SessionSummary;
