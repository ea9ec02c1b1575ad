// Types of the JSON the autochat HTTP API returns (see docs/api.md), as the browser sees them: the
// server's own zod shapes (src/api/shapes.ts) inferred, so there is one definition of each. Type-only
// imports: none of zod reaches the bundle from here.
import type { UIMessage } from 'ai';
import type * as Api from '../../src/api/shapes.js';

export type SessionStatus = Api.SessionSummary['status'];
export type SessionSummary = Api.SessionSummary;
export type SessionPage = Api.SessionPage;
export type TokenUsage = Api.TokenUsage;
export type UsageRow = Api.UsageEntry;

/** Metadata the stream's `finish` event attaches to an assistant message. */
export type MessageMetadata = Api.MessageMetadata & {
  /** Set on the stream's `finish` when the answer is complete but the database has not stored it yet. */
  savePending?: string;
};

/** Where a stored message sits among its versions (edits, regenerated answers); absent until the session is read again. */
export type MessagePlace = Pick<Api.ApiChatMessage, 'parentId' | 'siblingIds' | 'branch'>;

/** A message with the AI SDK's typed parts, which the API's shape leaves open. */
export type ChatMessage = UIMessage<MessageMetadata> & MessagePlace;

export type ChatPart = ChatMessage['parts'][number];

/** A tool call of the last answer that waits for the user's approval (GET session). */
export type PendingApproval = Api.PendingApproval;

export type SessionDetail = Omit<Api.Session, 'messages'> & { messages: ChatMessage[] };

export type UsageWindow = Api.TokenBudgets['daily'];
export type UsageReport = Api.TokenBudgets;
export type ServerInfo = Api.ServerInfo;
/** Feedback on an answer as a message's metadata holds it (`PUT …/feedback` answers it with its `messageId`). */
export type Feedback = NonNullable<Api.MessageMetadata['feedback']>;
export type Execution = Omit<Api.Execution, 'output'> & { output?: UIMessage };
export type ExecutionStatus = Api.ExecutionStatus;
export type StartedExecution = Api.StartedExecution;
export type ExecutionPage = Omit<Api.ExecutionPage, 'executions'> & { executions: Execution[] };

/** An agent as the store, the library and the find tools give it; only slug and name are sure to be there. */
export type AgentSummary = Pick<Api.AgentMatch, 'slug' | 'name'> & Partial<Omit<Api.AgentMatch, 'slug' | 'name'>>;

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
