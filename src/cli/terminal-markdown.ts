/**
 * Markdown for the terminal, rendered while it streams: `**bold**` in bold, `*emphasis*` dim, `` `code` `` and fenced
 * blocks in cyan, `# headings` in bold without their marks, list items with a bullet, quotes with a
 * bar, `[text](url)` as the text followed by the dim address. Text is written the moment it can be
 * told apart from a marker; only a possible marker (a `*`, a backtick, a link being written, the
 * start of a line) is held back until the next delta says what it is. The output does not depend on
 * how the text was split into deltas.
 */
import type { Style } from './chat-renderer.js';

/** Longest link text and address held back waiting for its `)`; longer ones are written as they are. */
const MAX_LINK_CHARS = 400;

export type MarkdownStream = {
  /** Takes the next piece of the answer; returns what can be written now. */
  push(delta: string): string;
  /** Returns whatever is still held back, with every open style closed. */
  flush(): string;
};

export function createMarkdownStream(style: Style): MarkdownStream {
  let pending = '';
  let atLineStart = true;
  let inFence = false;
  let bold = false;
  let italic = false;
  let code = false;
  let heading = false;

  const styled = (text: string) => {
    if (text.length === 0) return '';
    if (inFence || code) return style.cyan(text);
    let out = text;
    if (italic) out = style.dim(out);
    if (bold || heading) out = style.bold(out);
    return out;
  };

  /**
   * Reads the start of a line in `pending`: a fence line (consumed whole, not shown), a heading,
   * bullet or quote mark (replaced), or nothing special. Undefined when more text is needed to tell.
   */
  const lineStart = (final: boolean): { out: string; consumed: number; fence?: true } | undefined => {
    const newline = pending.indexOf('\n');
    const line = newline === -1 ? pending : pending.slice(0, newline);
    if (/^\s*(```|~~~)/.test(line)) {
      if (newline === -1 && !final) return undefined;
      inFence = !inFence;
      return { out: '', consumed: newline === -1 ? pending.length : newline + 1, fence: true };
    }
    const undecided = inFence ? /^\s*(`{1,2}|~{1,2})?$/ : /^\s*(`{1,2}|~{1,2}|#{1,6}|[-*+]|>)?$/;
    if (!final && newline === -1 && undecided.test(line)) return undefined;
    if (inFence) return { out: '', consumed: 0 };
    const marker = /^(\s*)(#{1,6} |[-*+] |> ?)/.exec(line);
    if (!marker) return { out: '', consumed: 0 };
    const indent = marker[1]!;
    const mark = marker[2]!;
    if (mark.startsWith('#')) {
      heading = true;
      return { out: indent, consumed: marker[0].length };
    }
    if (mark.startsWith('>')) return { out: `${indent}${style.dim('│')} `, consumed: marker[0].length };
    return { out: `${indent}• `, consumed: marker[0].length };
  };

  const render = (final: boolean): string => {
    let out = '';
    while (pending.length > 0) {
      if (atLineStart) {
        const start = lineStart(final);
        if (!start) break;
        out += start.out;
        pending = pending.slice(start.consumed);
        // After a fence line the next character starts a line again.
        atLineStart = start.fence === true;
        continue;
      }
      const char = pending[0]!;
      if (char === '\n') {
        // Styles do not run across lines, except inside a fenced block.
        bold = italic = code = heading = false;
        out += '\n';
        pending = pending.slice(1);
        atLineStart = true;
        continue;
      }
      if (inFence || code) {
        const end = pending.search(inFence ? /\n/ : /[`\n]/);
        const text = end === -1 ? pending : pending.slice(0, end);
        if (text.length === 0) {
          // A closing backtick.
          code = false;
          pending = pending.slice(1);
          continue;
        }
        out += styled(text);
        pending = pending.slice(text.length);
        continue;
      }
      if (char === '`') {
        code = true;
        pending = pending.slice(1);
        continue;
      }
      // Only `*` marks emphasis: `_` is common inside names such as find_agent.
      if (char === '*') {
        if (pending.length < 2 && !final) break;
        if (pending[1] === '*') {
          bold = !bold;
          pending = pending.slice(2);
          continue;
        }
        // A single `*` opens emphasis before a word and closes it after one: `2 * 3` stays as it is.
        if (italic || /\S/.test(pending[1] ?? ' ')) {
          italic = !italic;
          pending = pending.slice(1);
          continue;
        }
        out += styled(char);
        pending = pending.slice(1);
        continue;
      }
      if (char === '[') {
        const link = /^\[([^\]\n]*)\]\(([^)\s]*)\)/.exec(pending);
        if (link) {
          out += `${styled(link[1]!)} ${style.dim(`(${link[2]})`)}`;
          pending = pending.slice(link[0].length);
          continue;
        }
        const couldBeLink = /^\[[^\]\n]*(\](\([^)\s]*)?)?$/.test(pending) && pending.length < MAX_LINK_CHARS;
        if (couldBeLink && !final) break;
        out += styled('[');
        pending = pending.slice(1);
        continue;
      }
      const plainEnd = pending.search(/[\n`*[]/);
      const text = plainEnd === -1 ? pending : pending.slice(0, plainEnd);
      out += styled(text);
      pending = pending.slice(text.length);
    }
    return out;
  };

  return {
    push(delta) {
      pending += delta;
      return render(false);
    },
    flush() {
      const out = render(true);
      pending = '';
      bold = italic = code = heading = false;
      return out;
    },
  };
}
