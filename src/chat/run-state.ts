/**
 * The states of a run and the only transitions between them. A session is `idle` or `running` (with
 * exactly one active run); a run starts `running` and ends once, as `finished`, `failed`, `stopped`
 * or `interrupted` — after pausing, perhaps, in `awaiting-approval` until the user answers the tool
 * calls it asked about. The database enforces the same rules (constraints and a trigger), so no instance
 * can break them; this module names them and types the refusal.
 */
import type { RunStatus } from '../store/schema.js';

export const runTransitions: Record<RunStatus, readonly RunStatus[]> = {
  running: ['awaiting-approval', 'finished', 'failed', 'stopped', 'interrupted'],
  // Paused for tool approvals (migration 0012): resumed by an answer, or ended unanswered.
  'awaiting-approval': ['running', 'stopped', 'interrupted'],
  finished: [],
  failed: [],
  stopped: [],
  interrupted: [],
};

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

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return runTransitions[from].includes(to);
}
