import { describe, expect, it } from 'vitest';
import { ChatError } from '../errors.js';
import { type ActiveRun, createActiveRuns } from './active-runs.js';
import type { RunResult } from './types.js';

/** A run that ends (as `stopped`) when it is stopped, or (as `interrupted`) when it is handed on, or when `end` is called. */
function scriptedRun(options: { handOn?: boolean } = {}) {
  const controller = new AbortController();
  const handOff = options.handOn ? new AbortController() : undefined;
  let end!: (result: RunResult) => void;
  const done = new Promise<RunResult>((resolve) => {
    end = resolve;
  });
  controller.signal.addEventListener('abort', () => end('stopped'));
  handOff?.signal.addEventListener('abort', () => end('interrupted'));
  const run: ActiveRun = { controller, done, handOff };
  return { run, end, controller, handOff };
}

describe('the registry of active runs', () => {
  it('hands on the runs it may hand on at the end of the grace period, stops the others, and counts the handed-on ones', async () => {
    const runs = createActiveRuns();
    const movable = scriptedRun({ handOn: true });
    const kept = scriptedRun({ handOn: true });
    const local = scriptedRun();
    runs.add('movable', movable.run);
    runs.add('kept', kept.run);
    runs.add('local', local.run);

    await runs.drain(0, (run) => run === movable.run);

    expect(movable.handOff?.signal.aborted).toBe(true);
    expect(movable.controller.signal.aborted).toBe(false);
    expect(kept.controller.signal.aborted).toBe(true);
    expect(kept.handOff?.signal.aborted).toBe(false);
    expect(local.controller.signal.aborted).toBe(true);
    expect(runs.handedOn).toBe(1);
    expect(runs.closing).toBe(true);
  });

  it('lets a run that ends within the grace period end on its own', async () => {
    const runs = createActiveRuns();
    const quick = scriptedRun();
    runs.add('quick', quick.run);
    quick.run.done.finally(() => runs.delete('quick'));
    const drained = runs.drain(60_000, () => false);
    quick.end('finished');
    await drained;
    expect(await quick.run.done).toBe('finished');
    expect(quick.controller.signal.aborted).toBe(false);
    expect(runs.size).toBe(0);
  });

  it('waits for a start under way before it counts the runs, and refuses starts once draining', async () => {
    const runs = createActiveRuns();
    const late = scriptedRun();
    let release!: () => void;
    const starting = runs.admit(async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      runs.add('late', late.run);
    });
    const drained = runs.drain(0, () => false);
    await expect(runs.admit(async () => 'never')).rejects.toSatisfy(
      (error) => ChatError.isInstance(error) && error.code === 'upstream_unavailable' && error.retryAfterSeconds === 2,
    );
    release();
    await starting;
    await drained;
    // The run the start registered was counted, and stopped when the grace period (none) was over.
    expect(late.controller.signal.aborted).toBe(true);
  });
});
