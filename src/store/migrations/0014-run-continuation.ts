/**
 * Answers that go on after their instance stopped (docs/architecture.md, "Continuing an answer"):
 *
 * - `chat_runs.continuations`: how often the run was taken over and continued by another instance;
 *   the takeover raises it in the same statement that claims the run's lease, so only one instance
 *   continues, and never more than RUN_CONTINUE_MAX times.
 * - `chat_runs.released_at`: set when a stopping instance hands a running answer on (its shutdown
 *   grace period is over): another instance may take it at once, although its owner still lives.
 */
export const runContinuation = /* sql */ `
ALTER TABLE chat_runs ADD COLUMN continuations integer NOT NULL DEFAULT 0 CHECK (continuations >= 0);
ALTER TABLE chat_runs ADD COLUMN released_at timestamptz;
`;
