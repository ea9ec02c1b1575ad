/**
 * A finished execution's stored output as the UI-stream events that would have produced it, for a
 * reader that comes after its event log is gone: the same format as a live stream, so clients need
 * one code path.
 */
import type { UIMessageChunk } from 'ai';
import type { Execution } from '../store/executions-repository.js';

export async function* storedExecutionChunks(execution: Execution): AsyncGenerator<UIMessageChunk> {
  const { executionId } = execution;
  yield { type: 'start', messageId: execution.output?.id ?? executionId, messageMetadata: { executionId } };
  let inStep = false;
  for (const [index, part] of (execution.output?.parts ?? []).entries()) {
    if (part.type === 'step-start') {
      if (inStep) yield { type: 'finish-step' };
      yield { type: 'start-step' };
      inStep = true;
    } else if (part.type === 'text') {
      const id = `text-${index}`;
      yield { type: 'text-start', id };
      if (part.text) yield { type: 'text-delta', id, delta: part.text };
      yield { type: 'text-end', id };
    } else if (part.type.startsWith('tool-') && 'toolCallId' in part) {
      const tool = part as { toolCallId: string; input?: unknown; output?: unknown; errorText?: string; state?: string };
      const toolName = part.type.slice('tool-'.length);
      yield { type: 'tool-input-available', toolCallId: tool.toolCallId, toolName, input: tool.input ?? {} };
      if (tool.state === 'output-available') yield { type: 'tool-output-available', toolCallId: tool.toolCallId, output: tool.output };
      else if (tool.state === 'output-error')
        yield { type: 'tool-output-error', toolCallId: tool.toolCallId, errorText: tool.errorText ?? 'The tool failed.' };
    }
  }
  if (inStep) yield { type: 'finish-step' };
  if (execution.error) yield { type: 'error', errorText: execution.error };
  if (execution.status === 'stopped' || execution.status === 'interrupted') yield { type: 'abort' };
  else yield { type: 'finish', messageMetadata: { executionId, ...(execution.usage ? { usage: execution.usage } : {}) } };
}
