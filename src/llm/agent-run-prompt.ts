/**
 * The user message an execution sends the model: the person's inputs, each under its title, in the
 * order the agent's schema lists them. The agent's instructions are the system prompt.
 */
import type { AgentDefinition, InputValue } from '../store/agent-definition.js';

/** The first line of every execution's user message (the offline demo model recognises it). */
export const EXECUTION_PROMPT_HEADER = 'Run with these inputs:';

export function executionPrompt(definition: Pick<AgentDefinition, 'inputs'>, inputs: Record<string, InputValue>): string {
  const lines = [EXECUTION_PROMPT_HEADER, ''];
  for (const [name, input] of Object.entries(definition.inputs.properties)) {
    const value = inputs[name];
    if (value === undefined) continue;
    const shown = Array.isArray(value) ? value.map((item) => `\n  - ${item}`).join('') : ` ${String(value)}`;
    lines.push(`- ${input.title} (${name}):${shown}`);
  }
  if (lines.length === 2) lines.push('(this agent takes no inputs)');
  lines.push('', 'Follow your instructions and give the complete output now; there is no one to answer questions.');
  return lines.join('\n');
}

/** The inputs back from an execution prompt, as `title: value` pairs (for the demo model). */
export function promptInputs(prompt: string): { title: string; value: string }[] {
  if (!prompt.startsWith(EXECUTION_PROMPT_HEADER)) return [];
  const pairs: { title: string; value: string }[] = [];
  for (const line of prompt.split('\n')) {
    const match = /^- (.+?) \(\w+\):\s?(.*)$/.exec(line);
    if (match) pairs.push({ title: match[1]!, value: match[2]! });
    else if (line.startsWith('  - ') && pairs.length > 0) pairs.at(-1)!.value += `${pairs.at(-1)!.value ? ', ' : ''}${line.slice(4)}`;
  }
  return pairs;
}
