/** The refusals of the run state machine, typed by the store that enforces it (src/store/run-state-error.ts). */
export { RunRefusal, RunStateError } from '../store/run-state-error.js';
