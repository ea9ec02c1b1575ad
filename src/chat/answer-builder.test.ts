import type { UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { AnswerBuilder } from './answer-builder.js';

const built = (chunks: UIMessageChunk[]) => {
  const answer = new AnswerBuilder('m1');
  for (const chunk of chunks) answer.apply(chunk);
  return answer;
};

describe('AnswerBuilder', () => {
  it('rebuilds a finished text answer as one done text part after its step marker', () => {
    const answer = built([
      { type: 'start', messageId: 'm1' },
      { type: 'start-step' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hello' },
      { type: 'text-delta', id: 't', delta: ', world' },
      { type: 'text-end', id: 't' },
      { type: 'finish-step' },
      { type: 'finish' },
    ]);
    expect(answer.message()).toEqual({
      id: 'm1',
      role: 'assistant',
      parts: [{ type: 'step-start' }, { type: 'text', text: 'Hello, world', state: 'done' }],
    });
    expect(answer.closingChunks()).toEqual([]);
  });

  it('stores a cut-short answer with its open parts marked done, and says which parts to close', () => {
    const answer = built([
      { type: 'start-step' },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'thinking' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Half an ans' },
    ]);
    expect(answer.closingChunks()).toEqual([
      { type: 'reasoning-end', id: 'r' },
      { type: 'text-end', id: 't' },
    ]);
    expect(answer.message().parts).toEqual([
      { type: 'step-start' },
      { type: 'reasoning', text: 'thinking', state: 'done' },
      { type: 'text', text: 'Half an ans', state: 'done' },
    ]);
  });

  it('counts the characters produced since the last finished step, text, reasoning and tool input alike', () => {
    const answer = built([
      { type: 'start-step' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'abcd' },
      { type: 'finish-step' },
    ]);
    expect(answer.unaccountedChars).toBe(0);
    for (const chunk of [
      { type: 'start-step' },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'xy' },
      { type: 'tool-input-start', toolCallId: 'c', toolName: 'find_agent' },
      { type: 'tool-input-delta', toolCallId: 'c', inputTextDelta: '{"q":' },
    ] satisfies UIMessageChunk[]) {
      answer.apply(chunk);
    }
    expect(answer.unaccountedChars).toBe(2 + 5);
  });

  it('keeps a tool call only once it has an output or an error: a model cannot be shown half a call', () => {
    const answer = built([
      { type: 'start-step' },
      { type: 'tool-input-start', toolCallId: 'done', toolName: 'find_agent' },
      { type: 'tool-input-available', toolCallId: 'done', toolName: 'find_agent', input: { query: 'seo' } },
      { type: 'tool-output-available', toolCallId: 'done', output: { agents: [] } },
      { type: 'tool-input-start', toolCallId: 'failed', toolName: 'get_agent_details' },
      { type: 'tool-input-available', toolCallId: 'failed', toolName: 'get_agent_details', input: { slug: 'x' } },
      { type: 'tool-output-error', toolCallId: 'failed', errorText: 'No agent with slug x' },
      { type: 'tool-input-error', toolCallId: 'invalid', toolName: 'find_agent', input: { query: 1 }, errorText: 'bad input' },
      { type: 'tool-input-start', toolCallId: 'streaming', toolName: 'find_agent' },
      { type: 'tool-input-available', toolCallId: 'waiting', toolName: 'find_agent', input: { query: 'a' } },
    ]);
    expect(answer.message().parts).toEqual([
      { type: 'step-start' },
      { type: 'tool-find_agent', toolCallId: 'done', state: 'output-available', input: { query: 'seo' }, output: { agents: [] } },
      {
        type: 'tool-get_agent_details',
        toolCallId: 'failed',
        state: 'output-error',
        input: { slug: 'x' },
        errorText: 'No agent with slug x',
      },
      { type: 'tool-find_agent', toolCallId: 'invalid', state: 'output-error', input: { query: 1 }, errorText: 'bad input' },
    ]);
  });

  it('stores nothing for an answer that is only step markers, and drops step markers after the last content', () => {
    expect(built([{ type: 'start' }, { type: 'start-step' }, { type: 'start-step' }]).message()).toEqual({
      id: 'm1',
      role: 'assistant',
      parts: [],
    });
    const answer = built([
      { type: 'start-step' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'x' },
      { type: 'text-end', id: 't' },
      { type: 'finish-step' },
      { type: 'start-step' },
    ]);
    expect(answer.message().parts.map((part) => part.type)).toEqual(['step-start', 'text']);
  });

  it('ignores deltas and outputs for parts it never saw start, and chunks that carry no content', () => {
    const answer = built([
      { type: 'text-delta', id: 'unknown', delta: 'lost' },
      { type: 'text-end', id: 'unknown' },
      { type: 'tool-output-available', toolCallId: 'unknown', output: 1 },
      { type: 'tool-output-error', toolCallId: 'unknown', errorText: 'x' },
      { type: 'error', errorText: 'upstream failed' },
      { type: 'abort' },
    ]);
    expect(answer.message().parts).toEqual([]);
    // The characters were still produced (and billed) even though no part holds them.
    expect(answer.unaccountedChars).toBe(4);
  });

  it('does not change a message already returned when more chunks arrive', () => {
    const answer = built([
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'one' },
    ]);
    const first = answer.message();
    answer.apply({ type: 'text-delta', id: 't', delta: ' two' });
    expect(first.parts).toEqual([{ type: 'text', text: 'one', state: 'done' }]);
    expect(answer.message().parts).toEqual([{ type: 'text', text: 'one two', state: 'done' }]);
  });
});
