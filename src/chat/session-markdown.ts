/**
 * A chat as a Markdown document a person can keep or share: its title, then each message under
 * "You" or "autochat", answers' text as written, and each tool call as one quoted line saying what
 * was called and what came back; then the versions the chat does not show (edits, replaced answers).
 */
import type { ChatMessage, ChatSession } from './types.js';

type Part = ChatMessage['parts'][number];

export function sessionMarkdown(session: ChatSession, exportedAt = new Date(), otherMessages: ChatMessage[] = []): string {
  const title = session.title?.trim() || 'New chat';
  const blocks = [
    `# ${escapeLine(title)}`,
    `_Exported from autochat on ${exportedAt.toISOString().slice(0, 10)} · session ${session.sessionId}_`,
  ];
  blocks.push(
    ...session.messages
      .map((message) => messageMarkdown(message, message.role === 'user' ? 'You' : 'autochat'))
      .filter((block) => block !== ''),
  );
  // Versions the chat does not show (an edited message, a replaced answer) are kept too, after it.
  const others = otherMessages.map((message) =>
    messageMarkdown(message, message.role === 'user' ? 'You (another version)' : 'autochat (another version)'),
  );
  if (others.some((block) => block !== '')) blocks.push('---', '# Other versions', ...others.filter((block) => block !== ''));
  return `${blocks.join('\n\n')}\n`;
}

function messageMarkdown(message: ChatMessage, heading: string): string {
  if (message.role === 'system') return '';
  const body = message.parts
    .map(partMarkdown)
    .filter((text) => text.length > 0)
    .join('\n\n');
  if (!body) return '';
  const feedback = message.metadata?.feedback;
  const rated = feedback
    ? `\n\n_Feedback: ${feedback.rating === 'up' ? '👍' : '👎'}${feedback.comment ? ` — ${escapeLine(feedback.comment)}` : ''}_`
    : '';
  return `## ${heading}\n\n${body}${rated}`;
}

function partMarkdown(part: Part): string {
  if (part.type === 'text') return part.text.trim();
  if (!('toolCallId' in part)) return '';
  const name = part.type === 'dynamic-tool' ? String((part as { toolName?: unknown }).toolName ?? 'tool') : part.type.slice('tool-'.length);
  const input = 'input' in part ? compact(part.input) : '';
  if (part.state === 'output-error') return `> 🔧 \`${name}\` ${input} — failed: ${escapeLine(part.errorText ?? '')}`;
  if (part.state !== 'output-available') return `> 🔧 \`${name}\` ${input}`;
  return `> 🔧 \`${name}\` ${input} → ${describeOutput(part.output)}`;
}

function describeOutput(output: unknown): string {
  if (typeof output === 'object' && output !== null && Array.isArray((output as { agents?: unknown }).agents)) {
    const names = (output as { agents: { name?: unknown; slug?: unknown }[] }).agents.map((agent) =>
      String(agent.name ?? agent.slug ?? '?'),
    );
    return names.length === 0
      ? 'no agents found'
      : `${names.length} agent${names.length === 1 ? '' : 's'}: ${escapeLine(names.join(', '))}`;
  }
  return compact(output);
}

/** JSON on one line, in backticks, cut at 200 characters. */
function compact(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? '';
  } catch {
    text = String(value);
  }
  const cut = text.length > 200 ? `${text.slice(0, 199)}…` : text;
  return cut ? `\`${cut.replaceAll('`', "'")}\`` : '';
}

const escapeLine = (text: string) => text.replace(/\s+/g, ' ').trim();
