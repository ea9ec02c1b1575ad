/**
 * The refusal of a run transition that the state machine does not allow. A session is `idle` or
 * `running` (with exactly one active run); a run starts `running` and ends once, as `finished`,
 * `failed`, `stopped` or `interrupted` — after pausing, perhaps, in `awaiting-approval` until the user
 * answers the tool calls it asked about (migration 0012). The database enforces those rules
 * (constraints and triggers), so no instance can break them; this error types the refusal for callers.
 */
import type { RunStatus } from '../store/schema.js';

const marker = Symbol.for('autochat.run-state-error');

export class RunStateError extends Error {
  override readonly name = 'RunStateError';
  readonly [marker] = true;
  constructor(
    readonly runId: string,
    readonly from: RunStatus | 'missing',
    readonly to: RunStatus,
  ) {
    super(`Run ${runId} cannot go from ${from} to ${to}.`);
  }
  static isInstance(error: unknown): error is RunStateError {
    return typeof error === 'object' && error !== null && marker in error;
  }
}
