// Shapes of the JSON the autochat HTTP API returns (see docs/api.md), as the browser sees them.
import type { UIMessage } from 'ai';

export type SessionStatus = 'idle' | 'running';

export interface SessionSummary {
  sessionId: string;
  title?: string | null;
  createdAt: string;
  updatedAt: string;
  status?: SessionStatus;
}

export interface SessionPage {
  sessions: SessionSummary[];
  nextCursor?: string | null;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd?: number;
}

export interface UsageRow extends TokenUsage {
  model?: string;
  createdAt?: string;
}

/** Metadata the stream's `finish` event attaches to an assistant message. */
export interface MessageMetadata {
  sessionId?: string;
  usage?: TokenUsage;
  /** The person's feedback on an answer, as stored. */
  feedback?: { rating: 'up' | 'down'; comment?: string; updatedAt: string };
  /** Set on the stream's `finish` when the answer is complete but the database has not stored it yet. */
  savePending?: string;
}

/** Where a stored message sits among its versions (edits, regenerated answers); absent until the session is read again. */
export interface MessagePlace {
  parentId?: string | null;
  siblingIds?: string[];
  branch?: { index: number; count: number };
}

export type ChatMessage = UIMessage<MessageMetadata> & MessagePlace;

export type ChatPart = ChatMessage['parts'][number];

/** A tool call of the last answer that waits for the user's approval (GET session). */
export interface PendingApproval {
  approvalId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
  expiresAt: string;
  approved?: boolean;
}

export interface SessionDetail {
  sessionId: string;
  pendingApprovals?: PendingApproval[];
  title?: string | null;
  messages: ChatMessage[];
  usage?: UsageRow[];
  status?: SessionStatus;
  createdAt?: string;
  updatedAt?: string;
}

export interface UsageWindow {
  used: number;
  /** 0 means unlimited. */
  limit: number;
  resetsAt: string;
}

export interface UsageReport {
  daily: UsageWindow;
  weekly: UsageWindow;
}

export interface ServerInfo {
  demoModel: boolean;
  model: string;
  authRequired: boolean;
  version: string;
}

export interface AgentSummary {
  slug: string;
  name: string;
  subHeading?: string;
  description?: string;
  creator?: string;
  categories?: string[];
  runs?: number;
  rating?: number;
  score?: number;
}

export interface FindAgentOutput {
  agents: AgentSummary[];
  query?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAgentSummary(value: unknown): value is AgentSummary {
  return isRecord(value) && typeof value.slug === 'string' && typeof value.name === 'string';
}

/** Tool outputs arrive as untyped JSON; only render cards when the shape really matches. */
export function isFindAgentOutput(value: unknown): value is FindAgentOutput {
  return isRecord(value) && Array.isArray(value.agents) && value.agents.every(isAgentSummary);
}

export { isRecord };
