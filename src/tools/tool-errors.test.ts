import { describe, expect, it } from 'vitest';
import { ChatError } from '../errors.js';
import { isToolRefusal, toolErrorOutput, unknownSlug } from './tool-errors.js';

describe('tool refusals', () => {
  it('words an unknown slug once, as a refusal naming the slug', () => {
    const refusal = unknownSlug('no-such-agent');
    expect(refusal).toEqual({ error: 'No agent with slug "no-such-agent" exists in the store.', slug: 'no-such-agent' });
    expect(isToolRefusal(refusal)).toBe(true);
  });

  it('turns a refusal the caller can act on into an output, and rethrows anything else', () => {
    const limit = toolErrorOutput(new ChatError('rate_limited', 'Too many agents running.'), { slug: 'a' });
    expect(limit).toEqual({ error: 'Too many agents running.', slug: 'a' });
    expect(isToolRefusal(limit)).toBe(true);
    const outage = new ChatError('unavailable', 'The database does not answer.');
    expect(() => toolErrorOutput(outage)).toThrow(outage);
    expect(() => toolErrorOutput(new Error('bug'))).toThrow('bug');
  });

  it('does not take a result that has an error field for a refusal', () => {
    // view_agent_output's answer for a failed execution: a result, whose `error` says why it failed.
    expect(isToolRefusal({ executionId: 'e', status: 'failed', error: 'The model provider is down.' })).toBe(false);
    expect(isToolRefusal(JSON.parse(JSON.stringify(unknownSlug('x'))))).toBe(false);
  });
});
