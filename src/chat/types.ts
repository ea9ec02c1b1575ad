/** The shapes of the public library API (CONTRACT §3), one definition each. */
import type { UIMessage } from 'ai';

export type ChatMessage = UIMessage<ChatMessageMetadata>;

export type ChatMessageMetadata = {
  sessionId?: string;
  usage?: TokenUsage;
  createdAt?: string;
  /** The session owner's feedback on an answer, when they gave some. */
  feedback?: { rating: 'up' | 'down'; comment?: string; updatedAt: string };
};

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
  messages: ChatMessage[];
  usage: UsageEntry[];
  createdAt: string;
  updatedAt: string;
  status: SessionStatus;
  lastRunStatus: RunOutcome | null;
};

export type ChatSessionSummary = Omit<ChatSession, 'messages' | 'usage'>;
