// Chooses how a tool call in an assistant message is shown: spinner, agent cards, or a details block.
import { getToolName, type DynamicToolUIPart, type ToolUIPart } from 'ai';
import { isFindAgentOutput } from '../api-types.js';
import { AgentResults } from './agent-results.js';
import { ExecutionCard, isStartedExecution } from './execution-card.js';
import { ToolBlock } from './tool-block.js';
import { ToolProgress } from './tool-progress.js';

interface ToolPartProps {
  part: ToolUIPart | DynamicToolUIPart;
  /** False once the answer has ended, so an unfinished call is not shown spinning forever. */
  live: boolean;
}

export function ToolPart({ part, live }: ToolPartProps) {
  const toolName = getToolName(part);
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
      errorText={part.state === 'output-error' ? part.errorText : undefined}
    />
  );
}
