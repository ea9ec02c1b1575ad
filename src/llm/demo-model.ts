/**
 * The offline demo model: an AI SDK language model that needs no network and no key, so a fresh
 * install can be tried end to end. It says plainly what it is, and calls `find_agent` when asked to
 * find an agent, then describes what the tool returned. Asked to run one too ("find me an agent that
 * writes LinkedIn posts and run it about our launch"), it goes on as a real model would: the best
 * match's `get_required_setup_info`, then `run_agent` with the inputs filled from the message and the
 * agent's own examples, then says where to follow it; "show its output" reads it back with
 * `view_agent_output`. Never used when a key is configured.
 */
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { type AgentInputs, outputSections } from '../store/agent-definition.js';
import { EXECUTION_PROMPT_HEADER, promptInputs } from './agent-run-prompt.js';

export const DEMO_MODEL_ID = 'autochat/offline-demo';
export const DEMO_NOTICE =
  '*(Offline demo model — no LLM key is configured. Set `OPEN_ROUTER_API_KEY` and restart to chat with a real model.)*';

export type DemoModelOptions = { delayMs?: number };

export function createDemoModel(options: DemoModelOptions = {}): LanguageModelV3 {
  const delayMs = options.delayMs ?? 12;
  return {
    specificationVersion: 'v3',
    provider: 'autochat-demo',
    modelId: DEMO_MODEL_ID,
    supportedUrls: {},
    async doGenerate(call) {
      const plan = planReply(call);
      const content =
        plan.kind === 'tool'
          ? [{ type: 'tool-call' as const, toolCallId: plan.toolCallId, toolName: plan.toolName, input: JSON.stringify(plan.input) }]
          : [{ type: 'text' as const, text: plan.text }];
      return {
        content,
        finishReason: { unified: plan.kind === 'tool' ? 'tool-calls' : 'stop', raw: undefined },
        usage: usageOf(call.prompt, plan.kind === 'tool' ? JSON.stringify(plan.input) : plan.text),
        warnings: [],
      };
    },
    async doStream(call) {
      const plan = planReply(call);
      const signal = call.abortSignal;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async start(controller) {
          const emit = (part: LanguageModelV3StreamPart) => controller.enqueue(part);
          try {
            emit({ type: 'stream-start', warnings: [] });
            if (plan.kind === 'tool') {
              const input = JSON.stringify(plan.input);
              emit({ type: 'tool-input-start', id: plan.toolCallId, toolName: plan.toolName });
              emit({ type: 'tool-input-delta', id: plan.toolCallId, delta: input });
              emit({ type: 'tool-input-end', id: plan.toolCallId });
              emit({ type: 'tool-call', toolCallId: plan.toolCallId, toolName: plan.toolName, input });
            } else {
              emit({ type: 'text-start', id: 'demo-text' });
              for (const word of plan.text.match(/\S+\s*/g) ?? []) {
                await pause(delayMs, signal);
                emit({ type: 'text-delta', id: 'demo-text', delta: word });
              }
              emit({ type: 'text-end', id: 'demo-text' });
            }
            emit({
              type: 'finish',
              finishReason: { unified: plan.kind === 'tool' ? 'tool-calls' : 'stop', raw: undefined },
              usage: usageOf(call.prompt, plan.kind === 'tool' ? JSON.stringify(plan.input) : plan.text),
            });
            controller.close();
          } catch (error) {
            controller.error(error);
          }
        },
      });
      return { stream };
    },
  };
}

type Plan = { kind: 'text'; text: string } | { kind: 'tool'; toolCallId: string; toolName: string; input: Record<string, unknown> };

const callTool = (toolName: string, input: Record<string, unknown>): Plan => ({
  kind: 'tool',
  toolCallId: `call_demo_${Date.now().toString(36)}_${toolName}`,
  toolName,
  input,
});

function planReply(call: LanguageModelV3CallOptions): Plan {
  const last = call.prompt.at(-1);
  const userText = lastUserText(call.prompt);
  const offers = (name: string) => call.tools?.some((tool) => tool.name === name) ?? false;
  if (last?.role === 'tool') {
    const result = toolResultOf(last.content);
    // Asked to run an agent: go on from the search to its setup, to the run.
    if (asksToRun(userText) && offers('run_agent')) {
      const next = nextRunStep(result, userText);
      if (next) return next;
    }
    return { kind: 'text', text: describeToolResult(result) };
  }
  // An agent execution: its output sections, filled from the inputs (deterministic, no tool calls).
  if (userText.startsWith(EXECUTION_PROMPT_HEADER)) return { kind: 'text', text: agentOutput(systemText(call.prompt), userText) };
  const executionId = asksForOutput(userText) && offers('view_agent_output') ? lastExecutionId(call.prompt) : undefined;
  if (executionId) return callTool('view_agent_output', { executionId });
  const query = offers('find_agent') ? searchQueryOf(userText) : undefined;
  if (query) return callTool('find_agent', { query });
  if (call.tools === undefined || call.tools.length === 0) {
    // A title request (no tools): answer with a few words of the user's message.
    return { kind: 'text', text: titleFrom(userText) };
  }
  return {
    kind: 'text',
    text:
      `${DEMO_NOTICE}\n\nHello! I'm autochat's built-in demo model, so my answers are canned — but everything ` +
      'around me is real: this conversation is stored, streamed token by token, and can be stopped or resumed. ' +
      'Try asking me to **find an agent**, for example: "Find me an agent for writing YouTube scripts".',
  };
}

type ToolResult = { toolName: string; ok: boolean; value: Record<string, unknown> };

/** The result of the tool call the prompt ends with: its value when it ran, or why it did not. */
function toolResultOf(content: unknown): ToolResult {
  const part = Array.isArray(content) ? (content[0] as { toolName?: string; output?: { type?: string; value?: unknown } }) : undefined;
  const output = part?.output;
  const ok = output?.type === 'json' && typeof output.value === 'object' && output.value !== null && !('error' in output.value);
  const value =
    typeof output?.value === 'object' && output.value !== null
      ? (output.value as Record<string, unknown>)
      : { error: String(output?.value ?? '') };
  return { toolName: part?.toolName ?? '', ok, value };
}

/** The next call of "find an agent and run it", or undefined when the chain ends here (with words). */
function nextRunStep(result: ToolResult, userText: string): Plan | undefined {
  if (!result.ok) return undefined;
  if (result.toolName === 'find_agent') {
    const best = (result.value.agents as { slug: string }[] | undefined)?.[0];
    return best ? callTool('get_required_setup_info', { slug: best.slug }) : undefined;
  }
  if (result.toolName === 'get_required_setup_info') {
    const setup = result.value as { slug: string; inputs: AgentInputs; missing: string[] };
    return callTool('run_agent', { slug: setup.slug, inputs: demoInputs(setup.inputs, setup.missing, topicOf(userText)) });
  }
  return undefined;
}

/**
 * Values for the required inputs still missing: the topic of the message for the first free text,
 * otherwise the agent's own first example, its default, its first choice, or a plain placeholder.
 */
export function demoInputs(schema: AgentInputs, missing: string[], topic: string | undefined): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  let topicUsed = topic === undefined;
  for (const name of missing) {
    const input = schema.properties[name];
    if (!input) continue;
    const freeText = input.type === 'string' && !input.enum && !input.format;
    if (!topicUsed && freeText && topic!.length <= (input.maxLength ?? Number.POSITIVE_INFINITY)) {
      inputs[name] = topic;
      topicUsed = true;
      continue;
    }
    const example = (input.examples as unknown[] | undefined)?.[0];
    if (example !== undefined) inputs[name] = example;
    else if (input.default !== undefined) inputs[name] = input.default;
    else if (input.type === 'string') inputs[name] = input.enum?.[0] ?? topic ?? 'a demo';
    else if (input.type === 'number' || input.type === 'integer') inputs[name] = input.minimum ?? 1;
    else if (input.type === 'boolean') inputs[name] = false;
    else inputs[name] = [input.items.enum?.[0] ?? topic ?? 'a demo'];
  }
  return inputs;
}

/** "… run it about our launch" → "our launch": what the person wants the agent to work on. */
export function topicOf(text: string): string | undefined {
  const topic = text.match(/\b(?:about|on|for)\s+(.{2,}?)[\s.?!]*$/i)?.[1]?.trim();
  return topic && topic.length <= 200 ? topic : undefined;
}

export function asksToRun(text: string): boolean {
  return /\b(run|start|launch|execute)\s+(it|this|that|them|one|the\s+(?:best|first|agent))\b/i.test(text);
}

function asksForOutput(text: string): boolean {
  return /\b(show|read|see|view|get)\b.*\b(output|result|results)\b/i.test(text) || /\bis it (done|finished|ready)\b/i.test(text);
}

/** The execution most recently started in this chat, from run_agent's results in the prompt. */
function lastExecutionId(prompt: LanguageModelV3Prompt): string | undefined {
  for (let index = prompt.length - 1; index >= 0; index--) {
    const message = prompt[index]!;
    if (message.role !== 'tool') continue;
    for (const part of message.content) {
      if (part.type !== 'tool-result' || part.toolName !== 'run_agent' || part.output.type !== 'json') continue;
      const id = (part.output.value as { executionId?: unknown } | null)?.executionId;
      if (typeof id === 'string') return id;
    }
  }
  return undefined;
}

function describeToolResult(result: ToolResult): string {
  if (result.toolName === 'run_agent') {
    if (!result.ok)
      return `${DEMO_NOTICE}

The agent did not start: ${String(result.value.error ?? 'the call was not allowed')}`;
    return (
      `${DEMO_NOTICE}

The agent is running (execution \`${String(result.value.executionId)}\`). Follow it under **Executions**, ` +
      'or ask me to "show its output".'
    );
  }
  if (result.toolName === 'view_agent_output') {
    if (!result.ok)
      return `${DEMO_NOTICE}

I could not read that execution: ${String(result.value.error ?? '')}`;
    const output = typeof result.value.output === 'string' && result.value.output.trim() !== '' ? result.value.output : '(nothing yet)';
    return `${DEMO_NOTICE}

The execution is **${String(result.value.status)}**. Its output so far:

${output.replace(
  `${DEMO_NOTICE}

`,
  '',
)}`;
  }
  if (result.toolName === 'get_required_setup_info' && result.ok) {
    const missing = (result.value.missing as string[] | undefined) ?? [];
    return `${DEMO_NOTICE}

${missing.length > 0 ? `It still needs: ${missing.join(', ')}.` : 'It has everything it needs to run.'}`;
  }
  const value = result.value as { agents?: { name: string; subHeading: string; slug: string }[]; query?: string };
  const agents = value?.agents ?? [];
  if (agents.length === 0) {
    return `${DEMO_NOTICE}\n\nI searched the agent store but found nothing for that. Try other words?`;
  }
  const lines = agents.slice(0, 5).map((agent) => `- **${agent.name}** — ${agent.subHeading} (\`${agent.slug}\`)`);
  return `${DEMO_NOTICE}\n\nHere is what I found in the agent store for "${value?.query ?? ''}":\n\n${lines.join('\n')}\n\nAdd one to your library to use it.`;
}

/**
 * What the demo model writes for an agent execution: a heading per section of the agent's `Output:`
 * list (see outputSections), each saying what it would hold for the inputs given.
 */
export function agentOutput(instructions: string, prompt: string): string {
  const inputs = promptInputs(prompt);
  const given = inputs.length > 0 ? inputs.map((input) => `${input.title}: ${input.value}`).join('; ') : 'no inputs';
  const name = /^You are ([^,.\n]+)/.exec(instructions)?.[1]?.trim() ?? 'this agent';
  const sections = outputSections(instructions);
  const body =
    sections.length > 0
      ? sections
          .map(
            (section, index) =>
              `## ${index + 1}. ${section.heading}\n\nA real model would write ${section.description.replace(/\.$/, '')}.`,
          )
          .join('\n\n')
      : `## Output\n\nWhat ${name} would produce for ${given}.`;
  return `${DEMO_NOTICE}\n\n# ${name}\n\nInputs: ${given}.\n\n${body}\n`;
}

function systemText(prompt: LanguageModelV3Prompt): string {
  return prompt
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n');
}

function lastUserText(prompt: LanguageModelV3Prompt): string {
  for (let index = prompt.length - 1; index >= 0; index--) {
    const message = prompt[index]!;
    if (message.role !== 'user') continue;
    return message.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
  }
  return '';
}

/**
 * The store search a message asks for, if it asks for one: it names agents ("which agents can help
 * with …", "find me an agent that …") or asks for something to do a job ("I need something to …").
 * The query is the job, in the person's words; quoted words win.
 */
export function searchQueryOf(text: string): string | undefined {
  const asksForAgents =
    /\b(find|search|look(ing)? for|recommend|suggest|show|need|want|which|what|any|help)\b.*\bagents?\b|\bagents?\b.*\b(for|that|to|which|can)\b/i.test(
      text,
    );
  const asksForSomething = /\b(need|want|looking for)\b\s+(something|someone|a tool|help)\s+(to|that|with|for)\b/i.test(text);
  if (!asksForAgents && !asksForSomething) return undefined;
  const quoted = text.match(/['"“‘]([^'"”’]{2,100})['"”’]/);
  if (quoted?.[1]) return quoted[1].trim();
  const job =
    text.match(
      /\bagents?\s+(?:that|which|who|to|for)?\s*(?:can\s+|could\s+|will\s+)?(?:help\s+(?:me\s+|us\s+)?(?:with|to)\s+)?(.{2,}?)[\s.?!]*$/i,
    )?.[1] ??
    text.match(/\b(?:something|someone|a tool|help)\s+(?:that\s+(?:can\s+)?|to\s+|for\s+|with\s+)?(.{2,}?)[\s.?!]*$/i)?.[1] ??
    text.match(/\bfor\s+(.{2,}?)[\s.?!]*$/i)?.[1];
  // "… and run it about our launch" asks for a run after the search; it is not part of what to search for.
  const wanted = (job ?? text).replace(
    /[\s,]*\b(?:and\s+)?(?:then\s+)?(?:run|start|launch|execute)\s+(?:it|this|that|them|one|the\s+\w+)\b.*$/i,
    '',
  );
  return wanted.trim().slice(0, 100) || undefined;
}

function titleFrom(text: string): string {
  const prompt = text.match(/Message:\s*([\s\S]*)$/)?.[1] ?? text;
  const words = prompt.replace(/\s+/g, ' ').trim().split(' ').slice(0, 6).join(' ');
  return words.length > 0 ? words.replace(/[.?!,;:]+$/, '') : 'New chat';
}

function usageOf(prompt: LanguageModelV3Prompt, output: string): LanguageModelV3Usage {
  const input = Math.ceil(JSON.stringify(prompt).length / 4);
  const completion = Math.ceil(output.length / 4);
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: completion, text: completion, reasoning: 0 },
  };
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
