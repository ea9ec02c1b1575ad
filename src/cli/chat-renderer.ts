/**
 * How a chat looks in the terminal: answer text written the moment it arrives, each tool call on one
 * line (`⚙ name {input}`, then `✓ name → result` or `✗ name failed: …`), errors on stderr, and a dim
 * usage line. Colour only when the stream is a terminal and NO_COLOR is unset.
 */
import type { UIMessageChunk } from 'ai';
import type { HistoryMessage, HistoryPart } from './autochat-client.js';
import { createMarkdownStream } from './terminal-markdown.js';

export type Output = { write(text: string): unknown };

export type Style = {
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  cyan(text: string): string;
  yellow(text: string): string;
};

const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function createStyle(color: boolean): Style {
  return color
    ? { dim: ansi(2, 22), bold: ansi(1, 22), red: ansi(31, 39), green: ansi(32, 39), cyan: ansi(36, 39), yellow: ansi(33, 39) }
    : { dim: plain, bold: plain, red: plain, green: plain, cyan: plain, yellow: plain };
}

/** Colour for a stream: a TTY, and NO_COLOR unset or empty (https://no-color.org). */
export function wantsColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/**
 * Where the chat is written: stdout for the conversation, stderr for errors, each with its own style;
 * `markdown` renders the answers' Markdown (for a person at a terminal) instead of writing it raw.
 */
export type Terminal = { out: Output; err: Output; style: Style; errStyle: Style; markdown?: boolean };

export type TokenUsage = { promptTokens: number; completionTokens: number; totalTokens: number; costUsd?: number };

export type AnswerOutcome = {
  /** The stream reached `finish`. */
  finished: boolean;
  /** The answer was stopped (by us, or an `abort` event from the server). */
  stopped: boolean;
  errors: string[];
  usage?: TokenUsage;
  text: string;
  /** The server's sentence when the answer is complete but not stored yet (its database is away). */
  savePending?: string;
};

const PREVIEW_CHARS = 100;

/** Renders the chunks of one answer as they come; `end()` closes the last line and reports what happened. */
export function createAnswerRenderer(terminal: Terminal, options: { showUsage: boolean }) {
  const { out, err, style, errStyle } = terminal;
  const toolNames = new Map<string, string>();
  const outcome: AnswerOutcome = { finished: false, stopped: false, errors: [], text: '' };
  const markdown = terminal.markdown ? createMarkdownStream(style) : undefined;
  let midLine = false;

  const write = (text: string) => {
    if (text.length === 0) return;
    out.write(text);
    midLine = !text.endsWith('\n');
  };
  /** Writes what the Markdown renderer still holds, so other lines never cut into the answer's text. */
  const settle = () => {
    if (markdown) write(markdown.flush());
  };
  const line = (text: string) => {
    settle();
    if (midLine) write('\n');
    write(`${text}\n`);
  };
  const errorLine = (text: string) => {
    settle();
    if (midLine) write('\n');
    err.write(`${errStyle.red(`error: ${text}`)}\n`);
  };

  return {
    render(chunk: UIMessageChunk): void {
      switch (chunk.type) {
        case 'text-delta':
          outcome.text += chunk.delta;
          write(markdown ? markdown.push(chunk.delta) : chunk.delta);
          break;
        case 'tool-input-start':
          toolNames.set(chunk.toolCallId, chunk.toolName);
          break;
        case 'tool-input-available':
          toolNames.set(chunk.toolCallId, chunk.toolName);
          line(style.cyan(`⚙ ${chunk.toolName} ${preview(chunk.input)}`));
          break;
        case 'tool-input-error':
          toolNames.set(chunk.toolCallId, chunk.toolName);
          line(style.red(`✗ ${chunk.toolName} failed: ${oneLine(chunk.errorText)}`));
          break;
        case 'tool-output-available': {
          const name = toolNames.get(chunk.toolCallId) ?? 'tool';
          line(describeToolOutput(name, chunk.output, style));
          break;
        }
        case 'tool-output-error':
          line(style.red(`✗ ${toolNames.get(chunk.toolCallId) ?? 'tool'} failed: ${oneLine(chunk.errorText)}`));
          break;
        case 'tool-output-denied':
          line(style.yellow(`⊘ ${toolNames.get(chunk.toolCallId) ?? 'tool'} not allowed`));
          break;
        case 'error':
          outcome.errors.push(chunk.errorText);
          errorLine(oneLine(chunk.errorText));
          break;
        case 'abort':
          outcome.stopped = true;
          break;
        case 'finish':
          outcome.finished = true;
          outcome.usage = usageOf(chunk.messageMetadata) ?? outcome.usage;
          break;
        default:
          // The answer is complete but the server could not store it yet: say so, calmly (not an error).
          if (chunk.type === 'data-save-pending' && isRecord(chunk.data) && typeof chunk.data.message === 'string') {
            outcome.savePending = chunk.data.message;
            line(style.yellow(oneLine(chunk.data.message)));
          }
          break;
      }
    },

    /** Ends the current line, so that a question can be asked on a line of its own. */
    settle(): void {
      settle();
      if (midLine) write('\n');
    },

    /** Marks the answer as stopped by the user. */
    stopped(): void {
      outcome.stopped = true;
    },

    /** Reports a failure that ended the answer outside the stream (a dropped connection). */
    failed(message: string): void {
      outcome.errors.push(message);
      errorLine(message);
    },

    end(): AnswerOutcome {
      settle();
      if (outcome.stopped) line(style.yellow('[stopped]'));
      else if (midLine) write('\n');
      if (options.showUsage && outcome.usage) line(style.dim(describeUsage(outcome.usage)));
      return outcome;
    },
  };
}

export type AnswerRenderer = ReturnType<typeof createAnswerRenderer>;

/** `✓ find_agent → 5 agents: a, b, c, …` for agent lists, `✗ … failed` for error outputs, else a JSON preview. */
export function describeToolOutput(name: string, output: unknown, style: Style): string {
  if (isRecord(output) && typeof output.error === 'string') return style.red(`✗ ${name} failed: ${oneLine(output.error)}`);
  if (isRecord(output) && Array.isArray(output.agents)) {
    const slugs = output.agents.map((agent) => (isRecord(agent) && typeof agent.slug === 'string' ? agent.slug : '?'));
    if (slugs.length === 0) return style.green(`✓ ${name} → no agents found`);
    const count = `${slugs.length} agent${slugs.length === 1 ? '' : 's'}`;
    let listed = '';
    for (const [index, slug] of slugs.entries()) {
      const next = listed ? `${listed}, ${slug}` : slug;
      if (index > 0 && next.length > PREVIEW_CHARS) {
        listed += ', …';
        break;
      }
      listed = next;
    }
    return style.green(`✓ ${name} → ${count}: ${listed}`);
  }
  return style.green(`✓ ${name} → ${preview(output)}`);
}

export function describeUsage(usage: TokenUsage): string {
  const cost = usage.costUsd !== undefined ? ` · $${usage.costUsd.toFixed(4)}` : '';
  return `${usage.totalTokens} tokens (${usage.promptTokens} prompt + ${usage.completionTokens} completion)${cost}`;
}

/** Prints the last `count` messages of a session, as a reminder of where the conversation was. */
export function renderHistory(terminal: Terminal, messages: HistoryMessage[], count = 6): void {
  const { out, style } = terminal;
  const shown = messages.filter((message) => message.role !== 'system').slice(-count);
  if (messages.length > shown.length) out.write(`${style.dim(`… ${messages.length - shown.length} earlier message(s)`)}\n`);
  for (const message of shown) {
    const text = message.parts
      .map((part) => (part.type === 'text' ? (part.text ?? '') : ''))
      .join('')
      .trim();
    if (message.role === 'user') {
      out.write(`${style.bold('you ›')} ${text}\n`);
      continue;
    }
    for (const part of message.parts) {
      const tool = toolPartLine(part, style);
      if (tool) out.write(`${tool}\n`);
    }
    if (!text) continue;
    if (terminal.markdown) {
      const markdown = createMarkdownStream(style);
      out.write(`${markdown.push(text)}${markdown.flush()}\n`);
    } else {
      out.write(`${text}\n`);
    }
  }
}

function toolPartLine(part: HistoryPart, style: Style): string | undefined {
  const name = part.type.startsWith('tool-')
    ? part.type.slice('tool-'.length)
    : part.type === 'dynamic-tool'
      ? String(part.toolName ?? 'tool')
      : undefined;
  if (!name) return undefined;
  if (part.state === 'output-error') return style.red(`✗ ${name} failed: ${oneLine(part.errorText ?? 'unknown error')}`);
  if (part.state === 'output-available')
    return `${style.cyan(`⚙ ${name} ${preview(part.input)}`)}\n${describeToolOutput(name, part.output, style)}`;
  return style.cyan(`⚙ ${name} ${preview(part.input)}`);
}

function usageOf(metadata: unknown): TokenUsage | undefined {
  if (!isRecord(metadata) || !isRecord(metadata.usage)) return undefined;
  const { promptTokens, completionTokens, totalTokens, costUsd } = metadata.usage;
  if (typeof promptTokens !== 'number' || typeof completionTokens !== 'number' || typeof totalTokens !== 'number') return undefined;
  return { promptTokens, completionTokens, totalTokens, ...(typeof costUsd === 'number' ? { costUsd } : {}) };
}

/** JSON on one line, cut to PREVIEW_CHARS. */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(oneLine(text), PREVIEW_CHARS);
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
