// Chooses how a tool call in an assistant message is shown: spinner, agent cards, or a details block.
import { getToolName, type DynamicToolUIPart, type ToolUIPart } from 'ai';
import { isFindAgentOutput } from '../api-types.js';
import { AgentResults } from './agent-results.js';
import { ToolApproval } from './tool-approval.js';
import { ExecutionCard, isStartedExecution } from './execution-card.js';
import { ToolBlock } from './tool-block.js';
import { ToolProgress } from './tool-progress.js';

interface ToolPartProps {
  part: ToolUIPart | DynamicToolUIPart;
  /** False once the answer has ended, so an unfinished call is not shown spinning forever. */
  live: boolean;
  /** Answers a call that waits for the user's approval. */
  onApprovalResponse?: (approvalId: string, approved: boolean) => void;
}

export function ToolPart({ part, live, onApprovalResponse }: ToolPartProps) {
  const toolName = getToolName(part);
  if (part.state === 'approval-requested' || part.state === 'approval-responded') {
    return <ToolApproval toolName={toolName} input={part.input} approval={part.approval} onAnswer={onApprovalResponse} />;
  }
  const running = part.state === 'input-streaming' || part.state === 'input-available';
  if (running && live) return <ToolProgress toolName={toolName} />;
  if (toolName === 'find_agent' && part.state === 'output-available' && isFindAgentOutput(part.output)) {
    return <AgentResults output={part.output} />;
  }
  if (toolName === 'run_agent' && part.state === 'output-available' && isStartedExecution(part.output)) {
    return <ExecutionCard output={part.output} slug={(part.input as { slug?: string } | undefined)?.slug} />;
  }
  return (
    <ToolBlock
      toolName={toolName}
      state={running ? 'interrupted' : part.state}
      input={part.input}
      output={part.state === 'output-available' ? part.output : undefined}
      errorText={
        part.state === 'output-error' ? part.errorText : part.state === 'output-denied' ? deniedText(part.approval?.reason) : undefined
      }
    />
  );
}

function deniedText(reason: string | undefined): string {
  return reason ? `Not allowed: ${reason}` : 'Not allowed: this call did not run.';
}
