/**
 * The shapes the store persists and reads back: messages, usage, sessions, run outcomes and a
 * session's stored summary. They belong to the store (the lowest layer), so that `src/store/` needs
 * nothing from `src/chat/`; the chat service and the library re-export them (src/chat/types.ts).
 */
import type { UIMessage } from 'ai';

export type ChatMessage = UIMessage<ChatMessageMetadata>;

export type ChatMessageMetadata = {
  sessionId?: string;
  usage?: TokenUsage;
  createdAt?: string;
  /** How often the answer was continued on another instance after its own stopped (absent: never). */
  continuations?: number;
  /** The session owner's feedback on an answer, when they gave some. */
  feedback?: { rating: 'up' | 'down'; comment?: string; updatedAt: string };
};

/**
 * Where a message sits in its session's history, which is a tree (docs/architecture.md, "Branches"):
 * an edit or a regenerated answer is a sibling of the message it replaces.
 */
export type MessagePlace = {
  /** The message this one follows; null for a first message. */
  parentId: string | null;
  /** The messages with the same parent, this one included, oldest first. */
  siblingIds: string[];
  /** This message's position among its siblings (`index` from 0) and their number. */
  branch: { index: number; count: number };
};

/** A message as a session holds it: with its place in the tree when it was read from the store. */
export type SessionMessage = ChatMessage & Partial<MessagePlace>;

export type TokenUsage = {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd?: number;
};

export type UsageEntry = TokenUsage & {
  model: string;
  createdAt: string;
  kind?: 'chat' | 'title' | 'summary' | 'execution';
  /** True when the upstream reported no counts (a cut-short call) and they were estimated. */
  estimated?: boolean;
};

export type SessionStatus = 'idle' | 'running';
export type RunOutcome = 'finished' | 'failed' | 'stopped' | 'interrupted';

export type ChatSession = {
  sessionId: string;
  userId: string;
  title: string | null;
  /** The active path: from the first message to the session's active leaf. */
  messages: SessionMessage[];
  usage: UsageEntry[];
  createdAt: string;
  updatedAt: string;
  status: SessionStatus;
  lastRunStatus: RunOutcome | null;
  /** Tool calls of the last answer that wait for the user's approval (the answer is the last message). */
  pendingApprovals?: PendingToolApproval[];
};

export type PendingToolApproval = {
  approvalId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
  expiresAt: string;
  /** Present once answered (the run resumes when every call is). */
  approved?: boolean;
};

/** A session's row as the store reads it, without its messages and usage. */
export type SessionRecord = Omit<ChatSession, 'messages' | 'usage'>;

/** The condensed start of a session's active path, through the message at `throughSeq` (see src/chat/context-window.ts). */
export type StoredSummary = { text: string; throughSeq: number };

/** A usage entry about to be stored: the database sets its time, and its kind is always known. */
export type NewUsage = Omit<UsageEntry, 'createdAt'> & { kind: NonNullable<UsageEntry['kind']> };
