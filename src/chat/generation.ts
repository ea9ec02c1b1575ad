/**
 * The generation loop of a run: streams the model's answer as UI-stream chunks, runs the tools it
 * calls, and calls it again with their results, for at most `maxSteps` calls.
 *
 * It drives the AI SDK provider (`LanguageModelV3.doStream`, which parses the upstream's stream)
 * directly instead of through `streamText`: `streamText` and its UI-stream conversion hold about
 * 165 KiB more per open stream and cost about 3.5 ms more CPU per answer (bench/findings.md), and we
 * use little of what they add. What this loop keeps of their behaviour: retries before the first
 * byte on retryable errors, honouring `Retry-After`; tool inputs validated against the tool's schema;
 * an unknown tool, invalid input or a failing tool reported on that tool call and shown to the model;
 * tool calls executed as soon as they arrive; the usage and cost of every call.
 */
import { randomUUID } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { executeTool, retryWithExponentialBackoff, safeParseJSON, safeValidateTypes } from '@ai-sdk/provider-utils';
import {
  APICallError,
  asSchema,
  InvalidToolInputError,
  NoSuchToolError,
  RetryError,
  type FinishReason,
  type JSONValue,
  type ModelMessage,
  type Tool,
  type ToolSet,
  type UIMessageChunk,
} from 'ai';
import { costFrom } from '../llm/upstream-cost.js';
import type { NewUsage } from '../store/runs-repository.js';
import { toUsage } from '../usage/call-usage.js';

export type GenerationInput = {
  model: LanguageModelV3;
  system: string;
  messages: ModelMessage[];
  tools: ToolSet;
  maxSteps: number;
  maxRetries: number;
  signal: AbortSignal;
  /** Receives every UI-stream chunk, in order. */
  emit: (chunk: UIMessageChunk) => void;
  /** Called at the end of every upstream call that reported its end. */
  onStep: (step: StepResult) => void;
  /** Called when an upstream call's response begins (the provider accepted the request). */
  onResponse?: () => void;
  /** Whether a call of this tool waits for the user's approval instead of running (none: no call waits). */
  needsApproval?: (toolName: string) => boolean;
  /** Receives the calls that wait for approval when the step that made them ends; the loop then stops. */
  onApprovalRequests?: (requests: ApprovalRequest[]) => void;
};

/** A tool call that waits for the user's approval (announced with a `tool-approval-request` chunk). */
export type ApprovalRequest = { approvalId: string; toolCallId: string; toolName: string; input: unknown };

export type StepResult = {
  usage: LanguageModelV3Usage;
  finishReason: FinishReason;
  /** False when the stream ended without the upstream saying why: a truncated answer. */
  reasonGiven: boolean;
  modelId?: string;
  providerMetadata?: Record<string, Record<string, unknown>>;
};

/** The usage row of one finished call: the upstream's counts (estimated where it gave none), its model and cost. */
export function stepUsage(step: StepResult, fallbackModel: string, promptEstimate: number, kind: NewUsage['kind']): NewUsage {
  const { inputTokens, outputTokens } = step.usage;
  return toUsage(
    { inputTokens: inputTokens.total, outputTokens: outputTokens.total },
    step.modelId || fallbackModel,
    promptEstimate,
    kind,
    costFrom(step.providerMetadata),
  );
}

type ToolResultOutput = { type: 'text'; value: string } | { type: 'json'; value: JSONValue } | { type: 'error-text'; value: string };
type ToolCallRecord = { toolCallId: string; toolName: string; input: unknown; output?: ToolResultOutput; approvalId?: string };

/**
 * Runs until the model answers without calling tools, the step limit is reached, or `signal` aborts.
 * Throws the upstream's error (after retries) or a broken stream's; tool failures never throw.
 * Returns the finish reason of the last call.
 */
export async function generate(given: GenerationInput): Promise<FinishReason> {
  let emitting = true;
  const input: GenerationInput = {
    ...given,
    emit: (chunk) => {
      if (emitting) given.emit(chunk);
    },
  };
  const prompt: LanguageModelV3Prompt = [{ role: 'system', content: input.system }, ...input.messages.map(toPromptMessage)];
  const tools = functionTools(input.tools);
  let finishReason: FinishReason = 'other';

  for (let step = 1; step <= input.maxSteps; step++) {
    const calls: ToolCallRecord[] = [];
    const executions: Promise<void>[] = [];
    let text = '';
    let reasoning = '';
    let streamError: unknown;
    let finished: StepResult | undefined;
    let modelId: string | undefined;

    const { stream } = await withRetries(input, () =>
      input.model.doStream({ prompt, tools: tools.length > 0 ? tools : undefined, abortSignal: input.signal, includeRawChunks: false }),
    );
    input.onResponse?.();
    input.emit({ type: 'start-step' });
    const reader = stream.getReader();
    let complete = false;
    try {
      for (;;) {
        const { done, value: part } = await reader.read();
        if (done) break;
        switch (part.type) {
          case 'text-start':
          case 'reasoning-start':
          case 'text-end':
          case 'reasoning-end':
            input.emit({ type: part.type, id: part.id });
            break;
          case 'text-delta':
          case 'reasoning-delta':
            if (part.type === 'text-delta') text += part.delta;
            else reasoning += part.delta;
            input.emit({ type: part.type, id: part.id, delta: part.delta });
            break;
          case 'tool-input-start':
            input.emit({ type: 'tool-input-start', toolCallId: part.id, toolName: part.toolName });
            break;
          case 'tool-input-delta':
            input.emit({ type: 'tool-input-delta', toolCallId: part.id, inputTextDelta: part.delta });
            break;
          case 'tool-call': {
            const call: ToolCallRecord = { toolCallId: part.toolCallId, toolName: part.toolName, input: part.input };
            calls.push(call);
            executions.push(runToolCall(input, call, part.input));
            break;
          }
          case 'response-metadata':
            modelId = part.modelId ?? modelId;
            break;
          case 'error':
            streamError ??= part.error;
            break;
          case 'finish':
            finished = {
              usage: part.usage,
              finishReason: part.finishReason.unified,
              reasonGiven: part.finishReason.raw !== undefined || part.finishReason.unified !== 'other',
              modelId,
              providerMetadata: part.providerMetadata,
            };
            break;
          default:
            break;
        }
      }
      complete = true;
    } finally {
      if (!complete) {
        // Cut short: the upstream response is cancelled, and tool calls still running report
        // nothing more (the run is ending; unfinished calls are not stored).
        emitting = false;
        void reader.cancel().catch(() => {});
      }
    }
    if (finished) input.onStep(finished);
    await Promise.all(executions);
    input.emit({ type: 'finish-step' });
    if (streamError !== undefined) throw streamError;
    finishReason = finished?.finishReason ?? 'other';

    // Calls that wait for approval end the loop: the run pauses, and resumes with their results.
    const asked = calls.filter((call) => call.approvalId !== undefined);
    if (asked.length > 0 && !input.signal.aborted) {
      input.onApprovalRequests?.(
        asked.map((call) => ({ approvalId: call.approvalId!, toolCallId: call.toolCallId, toolName: call.toolName, input: call.input })),
      );
      break;
    }

    if (calls.length === 0 || step === input.maxSteps || input.signal.aborted) break;
    prompt.push(
      {
        role: 'assistant',
        content: [
          ...(reasoning ? [{ type: 'reasoning' as const, text: reasoning }] : []),
          ...(text ? [{ type: 'text' as const, text }] : []),
          ...calls.map((call) => ({ type: 'tool-call' as const, toolCallId: call.toolCallId, toolName: call.toolName, input: call.input })),
        ],
      },
      {
        role: 'tool',
        content: calls.map((call) => ({
          type: 'tool-result' as const,
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          output: call.output ?? { type: 'error-text' as const, value: 'The tool call did not complete.' },
        })),
      },
    );
  }
  return finishReason;
}

/** Validates one tool call, reports it, executes it and reports its result. Never throws. */
async function runToolCall(input: GenerationInput, call: ToolCallRecord, rawInput: string): Promise<void> {
  const { toolCallId, toolName } = call;
  const tool: Tool | undefined = Object.hasOwn(input.tools, toolName) ? input.tools[toolName] : undefined;
  const parsed = await parseToolInput(tool, toolName, rawInput, input.tools);
  if (!parsed.success) {
    call.input = parsed.input;
    call.output = { type: 'error-text', value: parsed.error.message };
    input.emit({ type: 'tool-input-error', toolCallId, toolName, input: parsed.input, errorText: errorText(parsed.error) });
    return;
  }
  call.input = parsed.value;
  input.emit({ type: 'tool-input-available', toolCallId, toolName, input: parsed.value });
  if (input.needsApproval?.(toolName)) {
    // Nothing of the tool runs now: the call is asked about, and run (or not) when answered.
    call.approvalId = randomUUID();
    input.emit({ type: 'tool-approval-request', approvalId: call.approvalId, toolCallId });
    return;
  }
  await executeToolCall(input, call);
}

/**
 * Executes a validated tool call and reports its result (`tool-output-available` or
 * `tool-output-error`) on `call` and as a chunk. Never throws. Also for approved calls of a resumed run.
 */
export async function executeToolCall(
  input: Pick<GenerationInput, 'tools' | 'signal' | 'emit'>,
  call: { toolCallId: string; toolName: string; input: unknown; output?: ToolResultOutput },
): Promise<void> {
  const { toolCallId, toolName } = call;
  const tool: Tool | undefined = Object.hasOwn(input.tools, toolName) ? input.tools[toolName] : undefined;
  if (!tool?.execute) {
    call.output = { type: 'error-text', value: `The ${toolName} tool cannot be run here.` };
    input.emit({ type: 'tool-output-error', toolCallId, errorText: call.output.value });
    return;
  }
  try {
    let output: unknown;
    for await (const part of executeTool({
      execute: tool.execute,
      input: call.input,
      options: { toolCallId, messages: [], abortSignal: input.signal },
    })) {
      if (part.type === 'final') output = part.output;
    }
    call.output = typeof output === 'string' ? { type: 'text', value: output } : { type: 'json', value: (output ?? null) as JSONValue };
    input.emit({ type: 'tool-output-available', toolCallId, output });
  } catch (error) {
    const message = errorText(error);
    call.output = { type: 'error-text', value: message };
    input.emit({ type: 'tool-output-error', toolCallId, errorText: message });
  }
}

type ParsedInput = { success: true; value: unknown } | { success: false; input: unknown; error: Error };

async function parseToolInput(tool: Tool | undefined, toolName: string, rawInput: string, tools: ToolSet): Promise<ParsedInput> {
  const json = rawInput.trim() === '' ? { success: true as const, value: {} } : await safeParseJSON({ text: rawInput });
  const given = json.success ? json.value : rawInput;
  if (!tool) return { success: false, input: given, error: new NoSuchToolError({ toolName, availableTools: Object.keys(tools) }) };
  if (!json.success)
    return { success: false, input: given, error: new InvalidToolInputError({ toolName, toolInput: rawInput, cause: json.error }) };
  const checked = await safeValidateTypes({ value: json.value, schema: asSchema(tool.inputSchema) });
  if (!checked.success)
    return { success: false, input: given, error: new InvalidToolInputError({ toolName, toolInput: rawInput, cause: checked.error }) };
  return { success: true, value: checked.value };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 500);

/** The tools as the provider takes them: worked out once per tool set (a user's is kept across turns), JSON schemas once per schema object. */
function functionTools(tools: ToolSet): LanguageModelV3FunctionTool[] {
  let listed = toolLists.get(tools);
  if (!listed) {
    listed = Object.entries(tools).map(([name, tool]) => ({
      type: 'function',
      name,
      description: tool.description,
      inputSchema: jsonSchemaOf(tool.inputSchema),
    }));
    toolLists.set(tools, listed);
  }
  return listed;
}

const toolLists = new WeakMap<ToolSet, LanguageModelV3FunctionTool[]>();

const jsonSchemas = new WeakMap<object, LanguageModelV3FunctionTool['inputSchema']>();

function jsonSchemaOf(schema: Tool['inputSchema']): LanguageModelV3FunctionTool['inputSchema'] {
  const key = schema as object;
  let json = jsonSchemas.get(key);
  if (!json) {
    json = asSchema(schema).jsonSchema as LanguageModelV3FunctionTool['inputSchema'];
    jsonSchemas.set(key, json);
  }
  return json;
}

/** A model message (as `convertToModelMessages` makes them) in the provider's prompt format. */
function toPromptMessage(message: ModelMessage): LanguageModelV3Message {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? [{ type: 'text', text: message.content }]
            : (message.content as Extract<LanguageModelV3Message, { role: 'user' }>['content']),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content:
          typeof message.content === 'string'
            ? [{ type: 'text', text: message.content }]
            : (message.content as Extract<LanguageModelV3Message, { role: 'assistant' }>['content']),
      };
    case 'tool':
      return { role: 'tool', content: message.content as Extract<LanguageModelV3Message, { role: 'tool' }>['content'] };
  }
}

/**
 * Retries a call that failed before its response began, when the error says a retry may help,
 * waiting as the upstream asks (`retry-after-ms` / `retry-after`, under a minute) or 2 s, 4 s, ….
 */
function withRetries<T>(input: GenerationInput, call: () => PromiseLike<T>): PromiseLike<T> {
  if (input.maxRetries <= 0) return call();
  return retryWithExponentialBackoff({
    maxRetries: input.maxRetries,
    initialDelayInMs: 2000,
    backoffFactor: 2,
    abortSignal: input.signal,
    shouldRetry: async (error) => APICallError.isInstance(error) && error.isRetryable,
    getDelayInMs: ({ error, exponentialBackoffDelay }) => retryAfterMs(error) ?? exponentialBackoffDelay,
    createRetryError: ({ message, reason, errors }) => new RetryError({ message, reason, errors }),
  })(call);
}

function retryAfterMs(error: unknown): number | undefined {
  const headers = APICallError.isInstance(error) ? error.responseHeaders : undefined;
  if (!headers) return undefined;
  const asked = headers['retry-after-ms'] !== undefined ? Number(headers['retry-after-ms']) : secondsOrDate(headers['retry-after']);
  return asked !== undefined && Number.isFinite(asked) && asked >= 0 && asked < 60_000 ? asked : undefined;
}

function secondsOrDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isNaN(seconds) ? Date.parse(value) - Date.now() : seconds * 1000;
}
