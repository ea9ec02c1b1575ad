import { describe, expect, it } from 'vitest';
import { titleText } from './title-text.js';

describe('titleText', () => {
  it('strips quotes, a heading mark and trailing dots', () => {
    expect(titleText('"Finding a money agent."')).toBe('Finding a money agent');
    expect(titleText('# Plan a trip\n')).toBe('Plan a trip');
  });

  it('drops control characters, which no database text column takes', () => {
    expect(titleText('Hello\u0000 world\u0007')).toBe('Hello world');
  });

  it('falls back to "New chat" when nothing is left', () => {
    expect(titleText(' "" ')).toBe('New chat');
  });

  it('cuts a long title at a word boundary and marks the cut', () => {
    const title = titleText('Extraordinarily complicated multinational telecommunications infrastructure questionnaire review');
    expect(title).toBe('Extraordinarily complicated multinational telecommunications infrastructure…');
    expect(title.length).toBeLessThanOrEqual(80);
  });

  it('cuts one endless word where it must', () => {
    const title = titleText('x'.repeat(200));
    expect(title).toHaveLength(80);
    expect(title.endsWith('…')).toBe(true);
  });
});
