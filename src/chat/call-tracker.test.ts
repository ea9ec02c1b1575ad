import { describe, expect, it } from 'vitest';
import { CallTracker } from './call-tracker.js';

describe('call tracker', () => {
  it('counts a call from its step, and another after a step whose tools ran', () => {
    const calls = new CallTracker();
    expect(calls.calling).toBe(false);
    expect(calls.observe({ type: 'start-step' })).toBe(false);
    expect(calls.calling).toBe(true);
    calls.calling = false; // its usage arrived
    expect(calls.observe({ type: 'tool-output-available', toolCallId: 'c1', output: {} })).toBe(false);
    expect(calls.observe({ type: 'finish-step' })).toBe(true);
    expect(calls.calling).toBe(true);
  });

  it('ends with a step that ran no tools, and forgets tools of an earlier step', () => {
    const calls = new CallTracker();
    calls.observe({ type: 'start-step' });
    calls.observe({ type: 'tool-output-error', toolCallId: 'c1', errorText: 'no' });
    expect(calls.observe({ type: 'finish-step' })).toBe(true);
    calls.observe({ type: 'start-step' });
    calls.observe({ type: 'text-delta', id: 't', delta: 'done' });
    expect(calls.observe({ type: 'finish-step' })).toBe(false);
    expect(calls.calling).toBe(false);
  });
});
