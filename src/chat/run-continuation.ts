/**
 * Continuing an answer whose instance stopped before it ended (killed, or out of shutdown grace):
 * another instance rebuilds the answer from the run's shared event log, settles what was cut in the
 * middle (open text parts, tool calls in flight), asks the model again with the history and the
 * partial answer as an assistant prefix, and appends to the same log and the same message, so that
 * every reader sees one answer that goes on. See docs/architecture.md, "Continuing an answer".
 */
import { executeTool } from '@ai-sdk/provider-utils';
import type { ToolSet, UIMessageChunk } from 'ai';
import type { NewUsage } from '../store/runs-repository.js';
import { AnswerBuilder } from './answer-builder.js';
import type { ChatMessage, TokenUsage } from './types.js';

/**
 * Tools that only read, so a call cut in flight may simply be run again. Anything else (adding to a
 * library, MCP tools, running an agent) may have acted already, and is reported to the model as
 * interrupted instead of repeated.
 */
export const READ_ONLY_TOOLS: ReadonlySet<string> = new Set([
  'find_agent',
  'get_agent_details',
  'find_library_agent',
  'get_required_setup_info',
  'view_agent_output',
]);

/** Added to the system prompt when the model is shown a partial answer to continue. */
export const CONTINUE_INSTRUCTION =
  'Your previous reply (the last assistant message) was cut off by a server restart before it was complete. Continue it from exactly where it stops: do not repeat anything already written, do not start over, and do not mention the interruption.';

/** What the model is told of an acting tool call that was in flight when its instance stopped. */
export const INTERRUPTED_ACTION =
  'This tool call was interrupted by a server restart and was not repeated, so it may or may not have taken effect. Tell the user, and offer to check or try again.';

/** What the model and the reader are told of a tool call whose input was still arriving. */
export const INTERRUPTED_INPUT = 'This tool call was interrupted by a server restart before its input was complete.';

/**
 * The answer as the event log has it, chunk by chunk: the message so far, and what was left open in
 * the middle (the step, text parts, tool inputs still arriving, tool calls still running).
 */
export class LoggedAnswer {
  builder?: AnswerBuilder;
  ended = false;
  stepOpen = false;
  stepHasTools = false;
  readonly openParts = new Map<string, 'text' | 'reasoning'>();
  readonly toolInputs = new Map<string, { toolName: string; inputText: string }>();
  readonly toolCalls = new Map<string, { toolName: string; input: unknown }>();

  /**
   * `paused`: for a run that went on after tool approvals, the answer it paused with; the log of its
   * current part holds only what came after (from a `start` of the same message).
   */
  constructor(private readonly paused?: ChatMessage) {
    if (paused) this.builder = AnswerBuilder.continuing(paused);
  }

  apply(chunk: UIMessageChunk): void {
    // A resumed run's log starts again with the same message: it goes on from the paused answer.
    if (chunk.type === 'start' && !this.paused) this.builder = new AnswerBuilder(chunk.messageId ?? crypto.randomUUID());
    this.builder?.apply(chunk);
    switch (chunk.type) {
      case 'start-step':
        this.stepOpen = true;
        this.stepHasTools = false;
        return;
      case 'finish-step':
        this.stepOpen = false;
        return;
      case 'text-start':
      case 'reasoning-start':
        this.openParts.set(chunk.id, chunk.type === 'text-start' ? 'text' : 'reasoning');
        return;
      case 'text-end':
      case 'reasoning-end':
        this.openParts.delete(chunk.id);
        return;
      case 'tool-input-start':
        this.stepHasTools = true;
        this.toolInputs.set(chunk.toolCallId, { toolName: chunk.toolName, inputText: '' });
        return;
      case 'tool-input-delta': {
        const input = this.toolInputs.get(chunk.toolCallId);
        if (input) input.inputText += chunk.inputTextDelta;
        return;
      }
      case 'tool-input-available':
        this.stepHasTools = true;
        this.toolInputs.delete(chunk.toolCallId);
        this.toolCalls.set(chunk.toolCallId, { toolName: chunk.toolName, input: chunk.input });
        return;
      case 'tool-input-error':
      case 'tool-output-available':
      case 'tool-output-error':
        this.toolInputs.delete(chunk.toolCallId);
        this.toolCalls.delete(chunk.toolCallId);
        return;
      case 'finish':
      case 'abort':
        this.ended = true;
        return;
      default:
        return;
    }
  }
}

export type RunContinuation = {
  /** This continuation's number (1 for the first). */
  count: number;
  /** The answer so far, rebuilt from the log; undefined when its owner stopped before `start`. */
  answer?: AnswerBuilder;
  /** What the earlier owners spent; charged with this run's end, once. */
  usage: NewUsage[];
  /** What the answer had spent before it paused for tool approvals (already charged; shown in its totals). */
  priorUsage?: TokenUsage;
  /** Closes what was cut in the middle and settles tool calls in flight, emitting (unstitched) chunks. */
  settle(emit: (chunk: UIMessageChunk) => void, signal: AbortSignal): Promise<void>;
  /** Maps one chunk of the continuing generation to the chunks readers get (none, one, or two). */
  stitch(chunk: UIMessageChunk): UIMessageChunk[];
};

/**
 * How a continuation joins the logged answer. If the owner stopped in the middle of a text part,
 * the continuation goes on in the same step and the same part (its own `start-step` and first
 * `text-start` are dropped and its text ids mapped onto the open part), so readers see one text
 * growing. Otherwise what was open is closed, tool calls in flight are settled, the open step is
 * finished, and the continuation's chunks pass as they are, starting a new step.
 */
export function createContinuation(
  logged: LoggedAnswer,
  input: { count: number; usage: NewUsage[]; tools: ToolSet; priorUsage?: TokenUsage },
): RunContinuation {
  const answer = logged.builder;
  // Its characters were charged with the earlier owner's usage; a cut-short estimate here would count them twice.
  if (answer) answer.unaccountedChars = 0;
  const lastOpen = [...logged.openParts].at(-1);
  const pendingTools = logged.toolInputs.size > 0 || logged.toolCalls.size > 0;
  const joinText =
    answer !== undefined && logged.stepOpen && !pendingTools && !logged.stepHasTools && lastOpen?.[1] === 'text' ? lastOpen[0] : undefined;

  let dropStartStep = joinText !== undefined;
  let joining = joinText !== undefined;
  const aliases = new Map<string, string>();

  return {
    count: input.count,
    answer,
    usage: input.usage,
    priorUsage: input.priorUsage,

    async settle(emit, signal) {
      if (!answer) return;
      for (const [id, type] of logged.openParts) {
        if (id !== joinText) emit({ type: type === 'text' ? 'text-end' : 'reasoning-end', id });
      }
      for (const [toolCallId, { toolName, inputText }] of logged.toolInputs) {
        emit({ type: 'tool-input-error', toolCallId, toolName, input: parsedOrText(inputText), errorText: INTERRUPTED_INPUT });
      }
      for (const [toolCallId, { toolName, input: toolInput }] of logged.toolCalls) {
        for (const chunk of await settleToolCall(input.tools, toolCallId, toolName, toolInput, signal)) emit(chunk);
      }
      if (logged.stepOpen && joinText === undefined) emit({ type: 'finish-step' });
    },

    stitch(chunk) {
      if (dropStartStep && chunk.type === 'start-step') {
        dropStartStep = false;
        return [];
      }
      if (joining && joinText !== undefined) {
        if (chunk.type === 'text-start') {
          joining = false;
          aliases.set(chunk.id, joinText);
          return [];
        }
        if (chunk.type === 'text-end' && chunk.id === joinText) {
          joining = false;
          return [chunk];
        }
        if (chunk.type !== 'start-step') {
          // The continuation began with something other than text: the open part ends first.
          joining = false;
          return [{ type: 'text-end', id: joinText }, chunk];
        }
      }
      if ((chunk.type === 'text-delta' || chunk.type === 'text-end') && aliases.has(chunk.id))
        return [{ ...chunk, id: aliases.get(chunk.id)! }];
      return [chunk];
    },
  };
}

/** A tool call that was running when its instance stopped: run again if it only reads, else reported as interrupted. */
async function settleToolCall(
  tools: ToolSet,
  toolCallId: string,
  toolName: string,
  input: unknown,
  signal: AbortSignal,
): Promise<UIMessageChunk[]> {
  const tool = Object.hasOwn(tools, toolName) ? tools[toolName] : undefined;
  if (!READ_ONLY_TOOLS.has(toolName) || !tool?.execute) return [{ type: 'tool-output-error', toolCallId, errorText: INTERRUPTED_ACTION }];
  try {
    let output: unknown;
    for await (const part of executeTool({ execute: tool.execute, input, options: { toolCallId, messages: [], abortSignal: signal } })) {
      if (part.type === 'final') output = part.output;
    }
    return [{ type: 'tool-output-available', toolCallId, output }];
  } catch (error) {
    return [{ type: 'tool-output-error', toolCallId, errorText: (error instanceof Error ? error.message : String(error)).slice(0, 500) }];
  }
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What the model is shown to continue: the history, then the partial answer as the last assistant
 * message (with the openai-compatible provider, a trailing assistant message: a prefix that models
 * continue), and the system prompt with an instruction to carry on rather than start again. With
 * nothing written yet it is the original request.
 */
export function continuationPrompt(
  system: string,
  history: ChatMessage[],
  partial: ChatMessage | undefined,
): { system: string; history: ChatMessage[] } {
  if (!partial || partial.parts.every((part) => part.type === 'step-start')) return { system, history };
  return { system: `${system}\n\n${CONTINUE_INSTRUCTION}`, history: [...history, partial] };
}
