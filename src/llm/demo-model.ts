/**
 * The offline demo model: an AI SDK language model that needs no network and no key, so a fresh
 * install can be tried end to end. It says plainly what it is, and calls `find_agent` when asked to
 * find an agent, then describes what the tool returned. Never used when a key is configured.
 */
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { outputSections } from '../store/agent-definition.js';
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
          ? [
              {
                type: 'tool-call' as const,
                toolCallId: plan.toolCallId,
                toolName: 'find_agent',
                input: JSON.stringify({ query: plan.query }),
              },
            ]
          : [{ type: 'text' as const, text: plan.text }];
      return {
        content,
        finishReason: { unified: plan.kind === 'tool' ? 'tool-calls' : 'stop', raw: undefined },
        usage: usageOf(call.prompt, plan.kind === 'tool' ? plan.query : plan.text),
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
              const input = JSON.stringify({ query: plan.query });
              emit({ type: 'tool-input-start', id: plan.toolCallId, toolName: 'find_agent' });
              emit({ type: 'tool-input-delta', id: plan.toolCallId, delta: input });
              emit({ type: 'tool-input-end', id: plan.toolCallId });
              emit({ type: 'tool-call', toolCallId: plan.toolCallId, toolName: 'find_agent', input });
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
              usage: usageOf(call.prompt, plan.kind === 'tool' ? plan.query : plan.text),
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

type Plan = { kind: 'text'; text: string } | { kind: 'tool'; toolCallId: string; query: string };

function planReply(call: LanguageModelV3CallOptions): Plan {
  const last = call.prompt.at(-1);
  if (last?.role === 'tool') return { kind: 'text', text: describeToolResult(last.content) };
  const userText = lastUserText(call.prompt);
  // An agent execution: its output sections, filled from the inputs (deterministic, no tool calls).
  if (userText.startsWith(EXECUTION_PROMPT_HEADER)) return { kind: 'text', text: agentOutput(systemText(call.prompt), userText) };
  const offersTool = call.tools?.some((tool) => tool.name === 'find_agent') ?? false;
  const query = offersTool ? searchQueryOf(userText) : undefined;
  if (query) return { kind: 'tool', toolCallId: `call_demo_${Date.now().toString(36)}`, query };
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

function describeToolResult(content: unknown): string {
  const output = Array.isArray(content) ? (content[0] as { output?: { type?: string; value?: unknown } })?.output : undefined;
  const value = output?.value as { agents?: { name: string; subHeading: string; slug: string }[]; query?: string } | undefined;
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
  return (job ?? text).trim().slice(0, 100) || undefined;
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
