import { describe, expect, it } from 'vitest';
import { decideRunOutcome } from './run-outcome.js';

const nothing = { stopRequested: false, leaseLost: false, sawError: false };

describe('decideRunOutcome', () => {
  it('finishes a run that nothing happened to, with no reason', () => {
    expect(decideRunOutcome(nothing)).toEqual({ outcome: 'finished' });
  });

  it('fails a run that saw an error, giving the failure kind (or "error" when it has none)', () => {
    expect(decideRunOutcome({ ...nothing, sawError: true, failure: 'timeout' })).toEqual({ outcome: 'failed', reason: 'timeout' });
    expect(decideRunOutcome({ ...nothing, sawError: true })).toEqual({ outcome: 'failed', reason: 'error' });
  });

  it('stores a stop as stopped even when the abort also made the upstream call fail', () => {
    expect(decideRunOutcome({ ...nothing, stopRequested: true })).toEqual({ outcome: 'stopped', reason: 'stop requested' });
    expect(decideRunOutcome({ ...nothing, stopRequested: true, sawError: true, failure: 'broken' })).toEqual({
      outcome: 'stopped',
      reason: 'stop requested',
    });
  });

  it('stores a lost lease as interrupted with the reason "lease lost", also when a stop was requested too', () => {
    expect(decideRunOutcome({ ...nothing, leaseLost: true })).toEqual({ outcome: 'interrupted', reason: 'lease lost' });
    expect(decideRunOutcome({ ...nothing, leaseLost: true, stopRequested: true })).toEqual({
      outcome: 'interrupted',
      reason: 'lease lost',
    });
    expect(decideRunOutcome({ stopRequested: true, leaseLost: true, sawError: true, failure: 'timeout' })).toEqual({
      outcome: 'interrupted',
      reason: 'lease lost',
    });
  });

  it('gives a reason for every outcome but finished, and one that names the outcome’s cause', () => {
    const reasonFor = { stopped: 'stop requested', interrupted: 'lease lost' } as const;
    for (const stopRequested of [false, true]) {
      for (const leaseLost of [false, true]) {
        for (const sawError of [false, true]) {
          const { outcome, reason } = decideRunOutcome({ stopRequested, leaseLost, sawError, failure: 'unavailable' });
          if (outcome === 'finished') expect(reason).toBeUndefined();
          else if (outcome === 'failed') expect(reason).toBe('unavailable');
          else expect(reason).toBe(reasonFor[outcome]);
        }
      }
    }
  });
});
