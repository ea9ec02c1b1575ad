import { describe, expect, it } from 'vitest';
import { interruptedRunUsage } from './interrupted-run-usage.js';

const measured = { kind: 'chat' as const, model: 'm', promptTokens: 30, completionTokens: 12, totalTokens: 42 };

describe('usage of an interrupted run', () => {
  it('charges the completed calls as measured, and the call in flight as an estimate', () => {
    const usage = interruptedRunUsage({
      progress: { promptEstimate: 80, model: 'm', usage: [measured], calling: true, pendingChars: 9 },
      inFlightChars: 41,
      model: 'fallback',
      fallbackPromptTokens: 0,
    });
    expect(usage).toEqual([
      measured,
      { kind: 'chat', model: 'm', promptTokens: 80, completionTokens: 11, totalTokens: 91, estimated: true },
    ]);
  });

  it('adds nothing when no call was in flight (between calls, or after the last)', () => {
    expect(
      interruptedRunUsage({
        progress: { promptEstimate: 80, model: 'm', usage: [measured], calling: false, pendingChars: 0 },
        model: 'm',
        fallbackPromptTokens: 0,
      }),
    ).toEqual([measured]);
  });

  it('estimates from the stored history when the run saved no progress at all', () => {
    expect(interruptedRunUsage({ model: 'm', fallbackPromptTokens: 120, inFlightChars: 8 })).toEqual([
      { kind: 'chat', model: 'm', promptTokens: 120, completionTokens: 2, totalTokens: 122, estimated: true },
    ]);
  });
});
