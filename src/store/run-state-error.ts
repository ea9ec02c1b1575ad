/**
 * The refusal of a run transition that the state machine does not allow. A session is `idle` or
 * `running` (with exactly one active run); a run starts `running` and ends once, as `finished`,
 * `failed`, `stopped` or `interrupted` — after pausing, perhaps, in `awaiting-approval` until the user
 * answers the tool calls it asked about (migration 0012). The database enforces those rules
 * (constraints and triggers), so no instance can break them; this error types the refusal for callers.
 */
import type { RunStatus } from './schema.js';

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

const refusalMarker = Symbol.for('autochat.run-refusal');

/**
 * Why a run could not begin on a session, typed for the service to word: no session the user owns
 * (`not_found`), a run already running (`run_in_progress`), a message id used earlier in the session
 * (`message_id_used`), a parent that is not in it (`parent_missing`), or a regenerate naming no
 * answer nor the message it answers (`not_a_question`). The store writes no sentence for users.
 */
export type RunRefusalCode = 'not_found' | 'run_in_progress' | 'message_id_used' | 'parent_missing' | 'not_a_question';

export class RunRefusal extends Error {
  override readonly name = 'RunRefusal';
  readonly [refusalMarker] = true;
  constructor(readonly code: RunRefusalCode) {
    super(`The run was refused: ${code}.`);
  }
  static isInstance(error: unknown): error is RunRefusal {
    return typeof error === 'object' && error !== null && refusalMarker in error;
  }
}
