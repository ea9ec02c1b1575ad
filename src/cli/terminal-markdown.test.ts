import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Style } from './chat-renderer.js';
import { createMarkdownStream } from './terminal-markdown.js';

const tag = (name: string) => (text: string) => `<${name}>${text}</${name}>`;
const tags: Style = { bold: tag('b'), dim: tag('d'), cyan: tag('c'), red: tag('r'), green: tag('g'), yellow: tag('y') };

/** Adjacent pieces in the same style read as one: `<b>a</b><b>b</b>` is `<b>ab</b>`. */
const merged = (text: string) => text.replace(/<\/(\w)><\1>/g, '');

function render(pieces: string[]): string {
  const stream = createMarkdownStream(tags);
  return merged(pieces.map((piece) => stream.push(piece)).join('') + stream.flush());
}

const cases: [string, string][] = [
  ['Here is **bold** and `code`.', 'Here is <b>bold</b> and <c>code</c>.'],
  ['# Title\n- one\n* two\n1. three\n', '<b>Title</b>\n• one\n• two\n1. three\n'],
  ['```js\nconst a = 1;\n```\nafter', '<c>const a = 1;</c>\nafter'],
  ['See [the docs](https://example.com/a_b) now', 'See the docs <d>(https://example.com/a_b)</d> now'],
  ['find_agent and snake_case stay as they are', 'find_agent and snake_case stay as they are'],
  ['2 * 3 = 6', '2 * 3 = 6'],
  ['*emphasis* here', '<d>emphasis</d> here'],
  ['> quoted words', '<d>│</d> quoted words'],
  ['  - nested **bold `code`**', '  • nested <b>bold </b><c>code</c>'],
  ['[not a link] and #hashtag', '[not a link] and #hashtag'],
  ['**unclosed bold\nnext line', '<b>unclosed bold</b>\nnext line'],
];

describe('markdown for the terminal', () => {
  it.each(cases)('renders %j', (markdown, expected) => {
    expect(render([markdown])).toBe(expected);
  });

  it('writes plain text at once and holds back only what may be a marker', () => {
    const stream = createMarkdownStream(tags);
    expect(stream.push('Hello wor')).toBe('Hello wor');
    expect(stream.push('ld *')).toBe('ld ');
    expect(stream.push('*big** [a')).toBe('<b>big</b> ');
    expect(stream.push('](u)')).toBe('a <d>(u)</d>');
  });

  it('gives the same output however the text is split into deltas', () => {
    const corpus = cases.map(([markdown]) => markdown).join('\n');
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: corpus.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), corpus.length];
        const pieces = points.slice(1).map((end, index) => corpus.slice(points[index], end));
        expect(render(pieces)).toBe(render([corpus]));
      }),
      { numRuns: 300 },
    );
  });
});
