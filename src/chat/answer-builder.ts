/**
 * Rebuilds the assistant's message from its UI-stream chunks as they pass, so that whatever point a
 * run reaches — finished, failed or stopped — the answer so far can be stored as a `UIMessage`.
 */
import type { UIMessageChunk } from 'ai';
import type { ChatMessage } from './types.js';

type Part = ChatMessage['parts'][number];
type ToolPart = Extract<Part, { toolCallId: string }>;

export class AnswerBuilder {
  private readonly parts: Part[] = [];
  private readonly texts = new Map<string, { type: 'text' | 'reasoning'; text: string; state?: 'streaming' | 'done' }>();
  private readonly tools = new Map<string, Record<string, unknown>>();
  private readonly toolInputText = new Map<string, string>();
  /** Characters produced since the last finished step: the basis of an estimate if the step is cut. */
  unaccountedChars = 0;

  constructor(readonly messageId: string) {}

  /** Continues an answer stored earlier (a run resumed after tool approvals): its parts come first. */
  static continuing(message: ChatMessage): AnswerBuilder {
    const builder = new AnswerBuilder(message.id);
    for (const part of structuredClone(message.parts)) {
      builder.parts.push(part);
      if ('toolCallId' in part) builder.tools.set((part as ToolPart).toolCallId, part as unknown as Record<string, unknown>);
    }
    return builder;
  }

  /** Records the user's answer on a tool call that waited for approval (before it runs, or not). */
  answerApproval(toolCallId: string, approval: { id: string; approved: boolean; reason?: string }): void {
    const part = this.tools.get(toolCallId);
    if (!part) return;
    const { id, approved, reason } = approval;
    Object.assign(part, { state: 'approval-responded', approval: { id, approved, ...(reason === undefined ? {} : { reason }) } });
  }

  apply(chunk: UIMessageChunk): void {
    switch (chunk.type) {
      case 'start-step':
        this.parts.push({ type: 'step-start' });
        return;
      case 'finish-step':
        this.unaccountedChars = 0;
        return;
      case 'text-start':
      case 'reasoning-start': {
        const part = {
          type: chunk.type === 'text-start' ? ('text' as const) : ('reasoning' as const),
          text: '',
          state: 'streaming' as const,
        };
        this.texts.set(chunk.id, part);
        this.parts.push(part as Part);
        return;
      }
      case 'text-delta':
      case 'reasoning-delta': {
        const part = this.texts.get(chunk.id);
        if (part) part.text += chunk.delta;
        this.unaccountedChars += chunk.delta.length;
        return;
      }
      case 'text-end':
      case 'reasoning-end': {
        const part = this.texts.get(chunk.id);
        if (part) part.state = 'done';
        return;
      }
      case 'tool-input-start':
        this.tool(chunk.toolCallId, chunk.toolName, { state: 'input-streaming', input: undefined });
        return;
      case 'tool-input-delta': {
        const text = (this.toolInputText.get(chunk.toolCallId) ?? '') + chunk.inputTextDelta;
        this.toolInputText.set(chunk.toolCallId, text);
        this.unaccountedChars += chunk.inputTextDelta.length;
        return;
      }
      case 'tool-input-available':
        this.tool(chunk.toolCallId, chunk.toolName, { state: 'input-available', input: chunk.input });
        return;
      case 'tool-input-error':
        this.tool(chunk.toolCallId, chunk.toolName, { state: 'output-error', input: chunk.input, errorText: chunk.errorText });
        return;
      case 'tool-output-available': {
        const part = this.tools.get(chunk.toolCallId);
        if (part) Object.assign(part, { state: 'output-available', output: chunk.output });
        return;
      }
      case 'tool-output-error': {
        const part = this.tools.get(chunk.toolCallId);
        if (part) Object.assign(part, { state: 'output-error', errorText: chunk.errorText });
        return;
      }
      case 'tool-approval-request': {
        const part = this.tools.get(chunk.toolCallId);
        if (part) Object.assign(part, { state: 'approval-requested', approval: { id: chunk.approvalId } });
        return;
      }
      case 'tool-output-denied': {
        const part = this.tools.get(chunk.toolCallId);
        if (part) Object.assign(part, { state: 'output-denied' });
        return;
      }
      default:
        return;
    }
  }

  /**
   * The chunks that close every text and reasoning part still open, so that a reader's copy of a
   * cut-short answer ends with its parts done, like the stored one.
   */
  closingChunks(): UIMessageChunk[] {
    const closing: UIMessageChunk[] = [];
    for (const [id, part] of this.texts) {
      if (part.state === 'streaming') closing.push({ type: part.type === 'text' ? 'text-end' : 'reasoning-end', id });
    }
    return closing;
  }

  /**
   * The answer as it stands. Unfinished tool calls are dropped: a model cannot be shown half a call.
   * With `waiting`, calls that wait for approval are kept (the answer of a paused run).
   */
  message(options: { waiting?: boolean } = {}): ChatMessage {
    const parts = this.parts
      .filter((part) => {
        if (!('toolCallId' in part)) return true;
        const state = (part as ToolPart).state;
        return (
          state === 'output-available' ||
          state === 'output-error' ||
          state === 'output-denied' ||
          (options.waiting === true && state === 'approval-requested')
        );
      })
      .map((part) => ('state' in part && (part.type === 'text' || part.type === 'reasoning') ? { ...part, state: 'done' as const } : part));
    // A message that is only step markers holds nothing worth storing.
    const meaningful = parts.some((part) => part.type !== 'step-start');
    return { id: this.messageId, role: 'assistant', parts: meaningful ? trimTrailingSteps(parts) : [] };
  }

  private tool(toolCallId: string, toolName: string, fields: Record<string, unknown>) {
    const existing = this.tools.get(toolCallId);
    if (existing) {
      Object.assign(existing, fields);
      return;
    }
    const part = { type: `tool-${toolName}`, toolCallId, ...fields };
    this.tools.set(toolCallId, part);
    this.parts.push(part as Part);
  }
}

function trimTrailingSteps(parts: Part[]): Part[] {
  let end = parts.length;
  while (end > 0 && parts[end - 1]!.type === 'step-start') end--;
  return parts.slice(0, end);
}
